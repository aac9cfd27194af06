/**
 * AuditLog records security events (sign-ins, approvals, revocations, deletions, admin
 * actions) and lists them for the admin. Details never hold a secret: only IDs, names and
 * reasons.
 */
import type { AuditEvent } from '../../api/admin.ts';
import type { Clock } from '../clock.ts';
import { iso } from '../clock.ts';
import type { Database, SqlExecutor } from '../db/database.ts';

export type AuditEventName =
  | 'account_created'
  | 'invite_created'
  | 'sign_in_failed'
  | 'sign_in_pending'
  | 'signed_in'
  | 'sign_in_denied'
  | 'approval_failed'
  | 'keys_created'
  | 'password_changed'
  | 'recovery_key_replaced'
  | 'totp_enabled'
  | 'totp_disabled'
  | 'session_revoked'
  | 'signed_out_all'
  | 'device_renamed'
  | 'device_removed'
  | 'plan_changed'
  | 'account_disabled'
  | 'account_enabled'
  | 'plan_saved'
  | 'incident_declared'
  | 'incident_updated'
  | 'incident_resolved'
  | 'release_published'
  | 'notifications_changed'
  | 'webhook_added'
  | 'webhook_removed'
  | 'backups_expired';

export interface AuditEntry {
  event: AuditEventName;
  accountId?: string | null;
  /** Who did it: `device:<id>`, `admin:<accountId>`, `cli` (the local admin CLI), `server` (its scheduled maintenance) or `anonymous`. */
  actor: string;
  ip?: string;
  details?: Record<string, unknown>;
}

interface AuditRow {
  id: number;
  at: number;
  event: string;
  account_id: string | null;
  actor: string;
  ip: string;
  details: string;
}

export class AuditLog {
  readonly #db: Database;
  readonly #clock: Clock;

  constructor(db: Database, clock: Clock) {
    this.#db = db;
    this.#clock = clock;
  }

  /** record appends one event; pass `tx` to make it part of a transaction. */
  async record(entry: AuditEntry, tx: SqlExecutor = this.#db): Promise<void> {
    await tx.run(
      'INSERT INTO audit_log (at, event, account_id, actor, ip, details) VALUES (?, ?, ?, ?, ?, ?)',
      [
        this.#clock.now(),
        entry.event,
        entry.accountId ?? null,
        entry.actor,
        entry.ip ?? '',
        JSON.stringify(entry.details ?? {}),
      ],
    );
  }

  /** list returns events newest first, optionally of one account and before an event ID (paging). */
  async list(query: { accountId?: string; before?: number; limit?: number }): Promise<AuditEvent[]> {
    const rows = await this.#db.all<AuditRow>(
      `SELECT * FROM audit_log WHERE (? IS NULL OR account_id = ?) AND (? IS NULL OR id < ?) ORDER BY id DESC LIMIT ?`,
      [
        query.accountId ?? null,
        query.accountId ?? null,
        query.before ?? null,
        query.before ?? null,
        query.limit ?? 100,
      ],
    );
    return rows.map((row) => ({
      id: row.id,
      at: iso(row.at),
      event: row.event,
      accountId: row.account_id,
      actor: row.actor,
      ip: row.ip,
      details: JSON.parse(row.details) as Record<string, unknown>,
    }));
  }
}
