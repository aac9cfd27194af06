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
 * more tries than sending them one by one.
 */
import { normalizeIP } from '@fastify/rate-limit';
import { CumulusError } from '../../core/errors.ts';
import type { Clock } from '../clock.ts';

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

interface Entry {
  failures: number;
  lastFailureAt: number;
  blockedUntil: number;
}

/** MAX_ENTRIES bounds memory under a flood of distinct keys; the oldest entries go first. */
const MAX_ENTRIES = 100_000;

/** Throttle counts failures per key under one policy. */
export class Throttle {
  readonly #entries = new Map<string, Entry>();
  readonly #clock: Clock;
  readonly #policy: ThrottlePolicy;

  constructor(clock: Clock, policy: ThrottlePolicy) {
    this.#clock = clock;
    this.#policy = policy;
  }

  #entry(key: string): Entry | undefined {
    const entry = this.#entries.get(key);
    if (entry && this.#clock.now() - entry.lastFailureAt > this.#policy.forgetAfterMs) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry;
  }

  /** waitMs returns how long `key` must still wait before its next attempt (0: may try now). */
  waitMs(key: string): number {
    const entry = this.#entry(key);
    return entry ? Math.max(0, entry.blockedUntil - this.#clock.now()) : 0;
  }

  #delayMs(failures: number): number {
    const beyond = failures - this.#policy.freeFailures;
    return beyond <= 0 ? 0 : Math.min(this.#policy.maxDelayMs, this.#policy.baseDelayMs * 2 ** (beyond - 1));
  }

  failed(key: string): void {
    const now = this.#clock.now();
    const failures = (this.#entry(key)?.failures ?? 0) + 1;
    this.#entries.delete(key);
    this.#entries.set(key, { failures, lastFailureAt: now, blockedUntil: now + this.#delayMs(failures) });
    if (this.#entries.size > MAX_ENTRIES) this.#entries.delete(this.#entries.keys().next().value!);
  }

  /** undo takes back one failure counted in advance for an attempt that turned out right. */
  undo(key: string): void {
    const entry = this.#entry(key);
    if (!entry) return;
    entry.failures -= 1;
    if (entry.failures <= 0) this.#entries.delete(key);
    else entry.blockedUntil = entry.lastFailureAt + this.#delayMs(entry.failures);
  }

  succeeded(key: string): void {
    this.#entries.delete(key);
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
  succeeded(): void;
}

/** addressKey is what an address is counted by: an IPv4 address, or an IPv6 address's /64. */
export function addressKey(ip: string): string {
  return normalizeIP(ip);
}

/** AttemptGuard applies a per-account and a per-address Throttle to one kind of attempt. */
export class AttemptGuard {
  readonly #byAccount: Throttle;
  readonly #byIp: Throttle;

  constructor(
    clock: Clock,
    policies: { account: ThrottlePolicy; ip: ThrottlePolicy } = { account: ACCOUNT_POLICY, ip: IP_POLICY },
  ) {
    this.#byAccount = new Throttle(clock, policies.account);
    this.#byIp = new Throttle(clock, policies.ip);
  }

  /**
   * begin throws 'rate_limited' while the account or the address must wait; otherwise it
   * counts the attempt as a failure at once, before the caller runs the slow check, and
   * returns the handle that takes it back when the secret was right.
   */
  begin(kind: AttemptKind, account: string, ip: string): Attempt {
    const accountKey = `${kind}:${account}`;
    const ipKey = `${kind}:${addressKey(ip)}`;
    const waitMs = Math.max(this.#byAccount.waitMs(accountKey), this.#byIp.waitMs(ipKey));
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
    this.#byAccount.failed(accountKey);
    this.#byIp.failed(ipKey);
    return {
      succeeded: () => {
        this.#byAccount.succeeded(accountKey);
        this.#byIp.undo(ipKey);
      },
    };
  }
}
