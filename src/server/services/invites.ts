/**
 * InvitesService: how an admin adds a user without ever knowing the user's password. The
 * admin makes a one-time invite for an email (a secret token, kept only as a hash, that
 * expires); the new user accepts it from their own device with the auth key of a password
 * they chose, which creates the account. The admin can no longer sign in as a new user's
 * first device, the one moment a password alone is enough (docs/security.md).
 */
import type { Role } from '../../api/account.ts';
import type { Invite } from '../../api/admin.ts';
import type { KdfParams } from '../../api/common.ts';
import { CumulusError } from '../../core/errors.ts';
import type { Clock } from '../clock.ts';
import { iso } from '../clock.ts';
import type { Database } from '../db/database.ts';
import type { AccountRecords } from './account-records.ts';
import { type AccountsService, normalizeEmail } from './accounts.ts';
import type { AuditLog } from './audit.ts';
import type { Actor } from './caller.ts';
import { newId, newToken, parseToken, secretMatches } from './credentials.ts';
import type { PlansService } from './plans.ts';

/** INVITE_TTL_MS: an invite not used within 7 days expires; the admin makes a new one. */
export const INVITE_TTL_MS = 7 * 24 * 60 * 60_000;

interface InviteRow {
  id: string;
  secret_hash: string;
  email: string;
  role: Role;
  plan_id: string;
  expires_at: number;
  used_at: number | null;
}

function unknownInvite(): CumulusError {
  return new CumulusError('unauthorized', 'this invite is unknown, used or expired, or not for this email', {
    hint: "ask the server's admin for a new invite (an invite works once, for one email)",
  });
}

export class InvitesService {
  readonly #db: Database;
  readonly #records: AccountRecords;
  readonly #clock: Clock;
  readonly #audit: AuditLog;
  readonly #accounts: AccountsService;
  readonly #plans: PlansService;

  constructor(deps: {
    db: Database;
    records: AccountRecords;
    clock: Clock;
    audit: AuditLog;
    accounts: AccountsService;
    plans: PlansService;
  }) {
    this.#db = deps.db;
    this.#records = deps.records;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
    this.#accounts = deps.accounts;
    this.#plans = deps.plans;
  }

  /** create makes an invite for an email without an account; an older unused invite for it stops working. */
  async create(actor: Actor, input: { email: string; role?: Role; planId?: string }): Promise<Invite> {
    const email = normalizeEmail(input.email);
    const planId = input.planId ?? (await this.#plans.defaultPlan()).id;
    await this.#plans.get(planId);
    const id = newId();
    const { token, secretHash } = newToken(id);
    const now = this.#clock.now();
    const expiresAt = now + INVITE_TTL_MS;
    const role = input.role ?? 'user';
    await this.#db.transaction(async (tx) => {
      if ((await this.#records.idByEmail(tx, email)) !== undefined)
        throw new CumulusError('conflict', `an account with the email ${email} exists already`);
      await tx.run(
        'UPDATE invites SET expires_at = ? WHERE email = ? AND used_at IS NULL AND expires_at > ?',
        [now, email, now],
      );
      await tx.run(
        `INSERT INTO invites (id, secret_hash, email, role, plan_id, created_by, created_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        [id, secretHash, email, role, planId, actor.actor, now, expiresAt],
      );
      await this.#audit.record(
        { event: 'invite_created', ...actor, details: { inviteId: id, email, role, planId } },
        tx,
      );
    });
    return { token, email, role, planId, expiresAt: iso(expiresAt) };
  }

  /**
   * accept creates the invited account with the new user's own password (its auth key and
   * KDF parameters) and uses the invite up, in one transaction: it works once.
   */
  async accept(input: { inviteToken: string; email: string; kdf: KdfParams; authKey: string }, ip: string) {
    const parsed = parseToken(input.inviteToken);
    const row = parsed && (await this.#db.get<InviteRow>('SELECT * FROM invites WHERE id = ?', [parsed.id]));
    if (
      !parsed ||
      !row ||
      !secretMatches(parsed.secret, row.secret_hash) ||
      row.used_at !== null ||
      this.#clock.now() >= row.expires_at ||
      row.email !== normalizeEmail(input.email)
    )
      throw unknownInvite();
    const account = await this.#accounts.create(
      { actor: 'anonymous', ip },
      { email: row.email, role: row.role, planId: row.plan_id, kdf: input.kdf, authKey: input.authKey },
      async (tx) => {
        const { changes } = await tx.run('UPDATE invites SET used_at = ? WHERE id = ? AND used_at IS NULL', [
          this.#clock.now(),
          row.id,
        ]);
        if (changes === 0) throw unknownInvite();
      },
    );
    return { email: account.email };
  }
}
