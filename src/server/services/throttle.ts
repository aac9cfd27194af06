/**
 * Growing delays on failed secret attempts (passwords, approval codes, TOTP, recovery
 * keys). After a few free failures, each further failure makes the caller wait twice as
 * long as the previous one before it may try again, per account and per IP address (an
 * IPv6 address by its /64, what one customer gets). A success forgets the account's
 * failures; an address's failures fade after a quiet hour, so one good account cannot be
 * used to reset the count while guessing at others.
 *
 * An attempt is counted as failed the moment it starts, before the slow hash that checks
 * it: parallel guesses each see the ones before them, so sending a burst at once buys no
 * more tries than sending them one by one. The counts live in the server database, shared
 * by every replica.
 */
import { normalizeIP } from '@fastify/rate-limit';
import { CumulusError } from '../../core/errors.ts';
import type { Clock } from '../clock.ts';
import type { Database, SqlExecutor } from '../db/database.ts';

export interface ThrottlePolicy {
  /** Failures allowed before any delay. */
  freeFailures: number;
  /** Delay after the first failure beyond the free ones; doubles with each further failure. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Failures are forgotten after this long without a new one. */
  forgetAfterMs: number;
}

export const ACCOUNT_POLICY: ThrottlePolicy = {
  freeFailures: 3,
  baseDelayMs: 1000,
  maxDelayMs: 5 * 60_000,
  forgetAfterMs: 60 * 60_000,
};
export const IP_POLICY: ThrottlePolicy = {
  freeFailures: 10,
  baseDelayMs: 1000,
  maxDelayMs: 5 * 60_000,
  forgetAfterMs: 60 * 60_000,
};

interface FailureRow {
  failures: number;
  last_failure_at: number;
  blocked_until: number;
}

/**
 * Throttle counts failures per key under one policy, in the server database, so every
 * replica behind a load balancer sees the same count. Rows older than the policy's quiet
 * period are dropped as new failures arrive, which bounds the table under a flood of keys.
 */
export class Throttle {
  readonly #clock: Clock;
  readonly #policy: ThrottlePolicy;
  /** Which count this is (per account, per address): keys of the two never meet. */
  readonly #scope: string;

  constructor(clock: Clock, policy: ThrottlePolicy, scope: string) {
    this.#clock = clock;
    this.#policy = policy;
    this.#scope = scope;
  }

  async #entry(db: SqlExecutor, key: string): Promise<FailureRow | undefined> {
    const row = await db.get<FailureRow>(
      'SELECT failures, last_failure_at, blocked_until FROM attempt_failures WHERE scope = ? AND key = ?',
      [this.#scope, key],
    );
    if (row === undefined || this.#clock.now() - Number(row.last_failure_at) > this.#policy.forgetAfterMs) {
      return undefined;
    }
    return {
      failures: Number(row.failures),
      last_failure_at: Number(row.last_failure_at),
      blocked_until: Number(row.blocked_until),
    };
  }

  /** waitMs returns how long `key` must still wait before its next attempt (0: may try now). */
  async waitMs(db: SqlExecutor, key: string): Promise<number> {
    const entry = await this.#entry(db, key);
    return entry ? Math.max(0, entry.blocked_until - this.#clock.now()) : 0;
  }

  #delayMs(failures: number): number {
    const beyond = failures - this.#policy.freeFailures;
    return beyond <= 0 ? 0 : Math.min(this.#policy.maxDelayMs, this.#policy.baseDelayMs * 2 ** (beyond - 1));
  }

  async failed(db: SqlExecutor, key: string): Promise<void> {
    const now = this.#clock.now();
    const failures = ((await this.#entry(db, key))?.failures ?? 0) + 1;
    await db.run('DELETE FROM attempt_failures WHERE scope = ? AND last_failure_at < ?', [
      this.#scope,
      now - this.#policy.forgetAfterMs,
    ]);
    await db.run(
      `INSERT INTO attempt_failures (scope, key, failures, last_failure_at, blocked_until) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (scope, key) DO UPDATE SET failures = excluded.failures,
         last_failure_at = excluded.last_failure_at, blocked_until = excluded.blocked_until`,
      [this.#scope, key, failures, now, now + this.#delayMs(failures)],
    );
  }

  /** undo takes back one failure counted in advance for an attempt that turned out right. */
  async undo(db: SqlExecutor, key: string): Promise<void> {
    const entry = await this.#entry(db, key);
    if (!entry) return;
    if (entry.failures <= 1) return this.succeeded(db, key);
    await db.run('UPDATE attempt_failures SET failures = ?, blocked_until = ? WHERE scope = ? AND key = ?', [
      entry.failures - 1,
      entry.last_failure_at + this.#delayMs(entry.failures - 1),
      this.#scope,
      key,
    ]);
  }

  async succeeded(db: SqlExecutor, key: string): Promise<void> {
    await db.run('DELETE FROM attempt_failures WHERE scope = ? AND key = ?', [this.#scope, key]);
  }
}

/**
 * AttemptKind names the secret being tried; each kind is counted apart, and every route
 * that checks the same secret shares its count (the password: sign-in, password change,
 * recovery-key replacement, TOTP enrolment and removal).
 */
export type AttemptKind = 'password' | 'code' | 'totp' | 'recovery';

/** Attempt is one try of a secret, counted as failed until `succeeded` says otherwise. */
export interface Attempt {
  succeeded(): Promise<void>;
}

/** addressKey is what an address is counted by: an IPv4 address, or an IPv6 address's /64. */
export function addressKey(ip: string): string {
  return normalizeIP(ip);
}

/** AttemptGuard applies a per-account and a per-address Throttle to one kind of attempt. */
export class AttemptGuard {
  readonly #db: Database;
  readonly #byAccount: Throttle;
  readonly #byIp: Throttle;

  constructor(
    db: Database,
    clock: Clock,
    policies: { account: ThrottlePolicy; ip: ThrottlePolicy } = { account: ACCOUNT_POLICY, ip: IP_POLICY },
  ) {
    this.#db = db;
    this.#byAccount = new Throttle(clock, policies.account, 'account');
    this.#byIp = new Throttle(clock, policies.ip, 'address');
  }

  /**
   * begin throws 'rate_limited' while the account or the address must wait; otherwise it
   * counts the attempt as a failure at once, in the same transaction as the check (so
   * attempts on other replicas see it), before the caller runs the slow check, and
   * returns the handle that takes it back when the secret was right.
   */
  async begin(kind: AttemptKind, account: string, ip: string): Promise<Attempt> {
    const accountKey = `${kind}:${account}`;
    const ipKey = `${kind}:${addressKey(ip)}`;
    const waitMs = await this.#db.transaction(async (tx) => {
      const wait = Math.max(await this.#byAccount.waitMs(tx, accountKey), await this.#byIp.waitMs(tx, ipKey));
      if (wait === 0) {
        await this.#byAccount.failed(tx, accountKey);
        await this.#byIp.failed(tx, ipKey);
      }
      return wait;
    });
    if (waitMs > 0) {
      const seconds = Math.ceil(waitMs / 1000);
      throw new CumulusError(
        'rate_limited',
        `too many failed attempts: wait ${seconds} s before trying again`,
        {
          hint: 'each wrong attempt makes the wait longer; check what you type, then try once more',
          details: { retryAfterSeconds: seconds },
        },
      );
    }
    return {
      succeeded: () =>
        this.#db.transaction(async (tx) => {
          await this.#byAccount.succeeded(tx, accountKey);
          await this.#byIp.undo(tx, ipKey);
        }),
    };
  }
}
