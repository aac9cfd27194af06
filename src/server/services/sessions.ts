/**
 * SessionsService: long-lived device sessions. A token is `<sessionId>.<secret>`; the
 * server keeps only the secret's SHA-256 and compares it in constant time. Sessions end
 * one by one, per device, per account ("sign out of all devices"), or on logout.
 */
import type { Role, SessionInfo } from '../../api/account.ts';
import { CumulusError } from '../../core/errors.ts';
import type { Clock } from '../clock.ts';
import { iso } from '../clock.ts';
import type { Database, SqlExecutor } from '../db/database.ts';
import { accountDisabled } from './accounts.ts';
import type { AuditLog } from './audit.ts';
import type { Caller } from './caller.ts';
import { deviceActor } from './caller.ts';
import { newId, newToken, parseToken, secretMatches } from './credentials.ts';

/** TOUCH_INTERVAL_MS: last-used times are rewritten at most this often, not on every request. */
const TOUCH_INTERVAL_MS = 60_000;
/**
 * SESSION_IDLE_MS: a session unused for 90 days ends (an agent uses its session every day;
 * a token forgotten on a lost or sold machine should not work for ever).
 */
export const SESSION_IDLE_MS = 90 * 24 * 60 * 60_000;

/** SignedOutReason tells an agent why its token stopped working (the 401's details.reason). */
export type SignedOutReason = 'unknown_session' | 'revoked' | 'device_removed' | 'idle';

const SIGNED_OUT: Record<SignedOutReason, string> = {
  unknown_session: 'this device is not signed in (the server does not know its session)',
  revoked: 'this device was signed out (its session was revoked)',
  device_removed: 'this device was removed from the account',
  idle: 'this device was signed out: its session went unused for 90 days',
};

function signedOut(reason: SignedOutReason): CumulusError {
  return new CumulusError('unauthorized', SIGNED_OUT[reason], {
    hint: 'sign in again with `cumulus login`',
    details: { reason },
  });
}

interface SessionRow {
  id: string;
  account_id: string;
  device_id: string;
  secret_hash: string;
  ip: string;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
  role: Role;
  disabled_at: number | null;
  removed_at: number | null;
  device_name: string;
  agent_version: string;
}

export class SessionsService {
  readonly #db: Database;
  readonly #clock: Clock;
  readonly #audit: AuditLog;

  constructor(db: Database, clock: Clock, audit: AuditLog) {
    this.#db = db;
    this.#clock = clock;
    this.#audit = audit;
  }

  /** create opens a session for a trusted device inside the caller's transaction and returns its token. */
  async create(tx: SqlExecutor, accountId: string, deviceId: string, ip: string): Promise<string> {
    const id = newId();
    const { token, secretHash } = newToken(id);
    await tx.run(
      'INSERT INTO sessions (id, account_id, device_id, secret_hash, ip, created_at) VALUES (?, ?, ?, ?, ?, ?)',
      [id, accountId, deviceId, secretHash, ip, this.#clock.now()],
    );
    return token;
  }

  /**
   * authenticate turns a bearer token into its caller, or throws 'unauthorized' for a
   * malformed, unknown, revoked or wrong token, a removed device or a disabled account.
   * It records when the session was last used and the agent version the device runs.
   */
  async authenticate(token: string, ip: string, agentVersion: string | undefined): Promise<Caller> {
    const parsed = parseToken(token);
    if (!parsed) throw signedOut('unknown_session');
    const row = await this.#db.get<SessionRow>(
      `SELECT sessions.*, accounts.role, accounts.disabled_at, devices.removed_at, devices.name AS device_name,
              devices.agent_version
       FROM sessions JOIN accounts ON accounts.id = sessions.account_id JOIN devices ON devices.id = sessions.device_id
       WHERE sessions.id = ?`,
      [parsed.id],
    );
    if (!row || !secretMatches(parsed.secret, row.secret_hash)) throw signedOut('unknown_session');
    if (row.removed_at !== null) throw signedOut('device_removed');
    if (row.revoked_at !== null) throw signedOut('revoked');
    if (row.disabled_at !== null) throw accountDisabled();
    const now = this.#clock.now();
    if (now - (row.last_used_at ?? row.created_at) > SESSION_IDLE_MS) {
      await this.#db.run('UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL', [
        now,
        row.id,
      ]);
      throw signedOut('idle');
    }
    const versionChanged = agentVersion !== undefined && agentVersion !== row.agent_version;
    if (row.last_used_at === null || now - row.last_used_at > TOUCH_INTERVAL_MS || versionChanged) {
      // Two plain writes that decide nothing: they need not wait for other devices' transactions.
      await this.#db.transaction(
        async (tx) => {
          await tx.run('UPDATE sessions SET last_used_at = ? WHERE id = ?', [now, row.id]);
          await tx.run('UPDATE devices SET last_seen_at = ?, agent_version = ? WHERE id = ?', [
            now,
            versionChanged ? agentVersion : row.agent_version,
            row.device_id,
          ]);
        },
        { scope: `device:${row.device_id}` },
      );
    }
    return { accountId: row.account_id, deviceId: row.device_id, sessionId: row.id, role: row.role, ip };
  }

  async list(caller: Caller): Promise<SessionInfo[]> {
    const rows = await this.#db.all<SessionRow>(
      `SELECT sessions.*, devices.name AS device_name FROM sessions JOIN devices ON devices.id = sessions.device_id
       WHERE sessions.account_id = ? AND sessions.revoked_at IS NULL AND devices.removed_at IS NULL
       ORDER BY sessions.created_at`,
      [caller.accountId],
    );
    return rows.map((row) => ({
      id: row.id,
      deviceId: row.device_id,
      deviceName: row.device_name,
      ip: row.ip,
      createdAt: iso(row.created_at),
      lastUsedAt: iso(row.last_used_at),
      current: row.id === caller.sessionId,
    }));
  }

  /** revoke ends one of the caller's account's sessions; another account's session ID → 'not_found'. */
  async revoke(caller: Caller, sessionId: string): Promise<void> {
    await this.#db.transaction(async (tx) => {
      const { changes } = await tx.run(
        'UPDATE sessions SET revoked_at = ? WHERE id = ? AND account_id = ? AND revoked_at IS NULL',
        [this.#clock.now(), sessionId, caller.accountId],
      );
      if (changes === 0)
        throw new CumulusError('not_found', 'no such session', {
          hint: 'list them with `cumulus account sessions`',
        });
      await this.#audit.record(
        {
          event: 'session_revoked',
          accountId: caller.accountId,
          ...deviceActor(caller),
          details: { sessionId },
        },
        tx,
      );
    });
  }

  /** revokeAll ends every session of the caller's account, the caller's own too when includeCurrent. */
  async revokeAll(caller: Caller, includeCurrent: boolean): Promise<number> {
    return this.#db.transaction(async (tx) => {
      const { changes } = await tx.run(
        'UPDATE sessions SET revoked_at = ? WHERE account_id = ? AND revoked_at IS NULL AND (? = 1 OR id <> ?)',
        [this.#clock.now(), caller.accountId, includeCurrent ? 1 : 0, caller.sessionId],
      );
      await this.#audit.record(
        {
          event: 'signed_out_all',
          accountId: caller.accountId,
          ...deviceActor(caller),
          details: { revoked: changes, includeCurrent },
        },
        tx,
      );
      return changes;
    });
  }

  /** logout ends the caller's own session. */
  async logout(caller: Caller): Promise<void> {
    await this.#db.transaction(async (tx) => {
      await tx.run('UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL', [
        this.#clock.now(),
        caller.sessionId,
      ]);
      await this.#audit.record(
        {
          event: 'session_revoked',
          accountId: caller.accountId,
          ...deviceActor(caller),
          details: { sessionId: caller.sessionId, logout: true },
        },
        tx,
      );
    });
  }

  /** revokeWhere ends every live session of one device, or of a whole account, inside a transaction. */
  async revokeWhere(tx: SqlExecutor, where: { accountId: string; deviceId?: string }): Promise<number> {
    const { changes } = await tx.run(
      'UPDATE sessions SET revoked_at = ? WHERE account_id = ? AND (? IS NULL OR device_id = ?) AND revoked_at IS NULL',
      [this.#clock.now(), where.accountId, where.deviceId ?? null, where.deviceId ?? null],
    );
    return changes;
  }

  /** hasLiveSession says whether any device of the account is signed in: someone who can show a code. */
  async hasLiveSession(accountId: string): Promise<boolean> {
    const row = await this.#db.get(
      `SELECT 1 FROM sessions JOIN devices ON devices.id = sessions.device_id
       WHERE sessions.account_id = ? AND sessions.revoked_at IS NULL AND devices.removed_at IS NULL LIMIT 1`,
      [accountId],
    );
    return row !== undefined;
  }
}
