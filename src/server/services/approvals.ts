/**
 * ApprovalsService keeps pending sign-ins: a new device that gave the right password waits
 * here, holding a secret token, while its 6-digit code is shown to the account's trusted
 * devices. A pending sign-in expires, allows a few wrong codes, and can be refused.
 */
import { timingSafeEqual } from 'node:crypto';
import type { DeviceInfo, PendingApproval } from '../../api/auth.ts';
import { CumulusError } from '../../core/errors.ts';
import type { Clock } from '../clock.ts';
import { iso } from '../clock.ts';
import type { Database, SqlExecutor } from '../db/database.ts';
import type { AuditLog } from './audit.ts';
import type { Caller } from './caller.ts';
import { deviceActor } from './caller.ts';
import { newCode, newId, newToken, parseToken, secretMatches } from './credentials.ts';

export const APPROVAL_TTL_MS = 10 * 60_000;
/** MAX_CODE_ATTEMPTS wrong codes end a pending sign-in: the device must sign in again. */
export const MAX_CODE_ATTEMPTS = 5;
/** MAX_PENDING per account: older pending sign-ins are dropped, so a flood cannot bury the real one. */
const MAX_PENDING = 5;

export interface PendingSignIn {
  id: string;
  account_id: string;
  secret_hash: string;
  code: string;
  device_name: string;
  platform: string;
  agent_version: string;
  ip: string;
  created_at: number;
  expires_at: number;
  attempts: number;
  /** Once a sign-in is no longer pending its code is erased. */
  state: 'pending' | 'completed' | 'denied' | 'failed' | 'superseded' | 'expired';
}

function signInOver(message: string, code: 'expired' | 'forbidden' = 'expired'): CumulusError {
  return new CumulusError(code, message, { hint: 'sign in again to get a new code' });
}

/** codesMatch compares two codes in constant time. */
function codesMatch(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

export class ApprovalsService {
  readonly #db: Database;
  readonly #clock: Clock;
  readonly #audit: AuditLog;

  constructor(db: Database, clock: Clock, audit: AuditLog) {
    this.#db = db;
    this.#clock = clock;
    this.#audit = audit;
  }

  /** create starts a pending sign-in and returns the token only the new device holds. */
  async create(
    accountId: string,
    device: DeviceInfo,
    ip: string,
  ): Promise<{ token: string; expiresAt: number }> {
    const id = newId();
    const { token, secretHash } = newToken(id);
    const now = this.#clock.now();
    const expiresAt = now + APPROVAL_TTL_MS;
    await this.#db.transaction(async (tx) => {
      await tx.run(
        `INSERT INTO sign_ins (id, account_id, secret_hash, code, device_name, platform, agent_version, ip, created_at, expires_at, state)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending')`,
        [
          id,
          accountId,
          secretHash,
          newCode(),
          device.name,
          device.platform,
          device.agentVersion,
          ip,
          now,
          expiresAt,
        ],
      );
      await tx.run(
        `UPDATE sign_ins SET state = 'superseded', code = '' WHERE account_id = ? AND state = 'pending' AND id NOT IN
           (SELECT id FROM sign_ins WHERE account_id = ? AND state = 'pending' ORDER BY created_at DESC, id LIMIT ?)`,
        [accountId, accountId, MAX_PENDING],
      );
      // Codes do not outlive their sign-in: erase the expired ones while here.
      await tx.run(
        "UPDATE sign_ins SET state = 'expired', code = '' WHERE state = 'pending' AND expires_at <= ?",
        [now],
      );
      await this.#audit.record(
        {
          event: 'sign_in_pending',
          accountId,
          actor: 'anonymous',
          ip,
          details: { signInId: id, device: device.name },
        },
        tx,
      );
    });
    return { token, expiresAt };
  }

  /**
   * open finds the pending sign-in a token names, checking its secret, that it is still
   * pending and not expired. Anything else is a clear error telling the device to start over.
   */
  async open(token: string): Promise<PendingSignIn> {
    const parsed = parseToken(token);
    const row =
      parsed && (await this.#db.get<PendingSignIn>('SELECT * FROM sign_ins WHERE id = ?', [parsed.id]));
    if (!parsed || !row || !secretMatches(parsed.secret, row.secret_hash)) {
      throw new CumulusError('unauthorized', 'this sign-in is unknown', {
        hint: 'sign in again to get a new code',
      });
    }
    switch (row.state) {
      case 'pending':
        if (this.#clock.now() >= row.expires_at) throw signInOver('the verification code has expired');
        return row;
      case 'denied':
        throw signInOver('this sign-in was refused on a trusted device', 'forbidden');
      case 'failed':
        throw signInOver('too many wrong codes for this sign-in');
      case 'expired':
        throw signInOver('the verification code has expired');
      default:
        throw signInOver('this sign-in is over');
    }
  }

  /** codeMatches says whether a typed code is the pending sign-in's code. */
  codeMatches(pending: PendingSignIn, code: string): boolean {
    return codesMatch(pending.code, code);
  }

  /**
   * failedAttempt counts a wrong code, TOTP or recovery key against the pending sign-in,
   * ending it after MAX_CODE_ATTEMPTS, and returns the error to send.
   */
  async failedAttempt(pending: PendingSignIn, what: string, ip: string): Promise<CumulusError> {
    const attempts = pending.attempts + 1;
    const left = MAX_CODE_ATTEMPTS - attempts;
    await this.#db.transaction(async (tx) => {
      await tx.run(
        `UPDATE sign_ins SET attempts = ?, state = CASE WHEN ? <= 0 THEN 'failed' ELSE state END,
           code = CASE WHEN ? <= 0 THEN '' ELSE code END WHERE id = ?`,
        [attempts, left, left, pending.id],
      );
      await this.#audit.record(
        {
          event: 'approval_failed',
          accountId: pending.account_id,
          actor: 'anonymous',
          ip,
          details: { signInId: pending.id, what, attemptsLeft: left },
        },
        tx,
      );
    });
    return new CumulusError('unauthorized', `the ${what} is wrong`, {
      hint:
        left > 0
          ? `${left} attempt${left === 1 ? '' : 's'} left for this sign-in`
          : 'no attempts left: sign in again to get a new code',
      details: { attemptsLeft: left },
    });
  }

  /** complete marks a pending sign-in used, inside the transaction that trusts the device; it can happen once. */
  async complete(tx: SqlExecutor, pending: PendingSignIn): Promise<void> {
    const { changes } = await tx.run(
      "UPDATE sign_ins SET state = 'completed', code = '' WHERE id = ? AND state = 'pending'",
      [pending.id],
    );
    if (changes === 0) throw signInOver('this sign-in is over');
  }

  /** endAll ends every pending sign-in of an account (it is being disabled), inside the caller's transaction. */
  async endAll(tx: SqlExecutor, accountId: string): Promise<void> {
    await tx.run(
      "UPDATE sign_ins SET state = 'denied', code = '' WHERE account_id = ? AND state = 'pending'",
      [accountId],
    );
  }

  /** listPending returns the caller's account's live pending sign-ins with their codes. */
  async listPending(caller: Caller): Promise<PendingApproval[]> {
    const rows = await this.#db.all<PendingSignIn>(
      "SELECT * FROM sign_ins WHERE account_id = ? AND state = 'pending' AND expires_at > ? ORDER BY created_at",
      [caller.accountId, this.#clock.now()],
    );
    return rows.map((row) => ({
      id: row.id,
      deviceName: row.device_name,
      platform: row.platform,
      agentVersion: row.agent_version,
      code: row.code,
      ip: row.ip,
      createdAt: iso(row.created_at),
      expiresAt: iso(row.expires_at),
    }));
  }

  /** deny refuses a pending sign-in of the caller's account. */
  async deny(caller: Caller, signInId: string): Promise<void> {
    await this.#db.transaction(async (tx) => {
      const { changes } = await tx.run(
        "UPDATE sign_ins SET state = 'denied', code = '' WHERE id = ? AND account_id = ? AND state = 'pending'",
        [signInId, caller.accountId],
      );
      if (changes === 0)
        throw new CumulusError('not_found', 'no such pending sign-in', {
          hint: 'list them with `cumulus approve`',
        });
      await this.#audit.record(
        {
          event: 'sign_in_denied',
          accountId: caller.accountId,
          ...deviceActor(caller),
          details: { signInId },
        },
        tx,
      );
    });
  }
}
