/**
 * AccountsService: accounts and everything the server keeps of their secrets — only
 * hashes of the auth key and of the recovery key's auth half, and the account key wrapped
 * under keys the server never sees (docs/security.md).
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { Account, Role } from '../../api/account.ts';
import type { AdminUser } from '../../api/admin.ts';
import type { AccountKeys } from '../../api/auth.ts';
import type { KdfParams, RepositoryConfig } from '../../api/common.ts';
import { validateChunkerParams } from '../../core/chunker.ts';
import { CumulusError } from '../../core/errors.ts';
import { DEFAULT_KDF } from '../../core/keys.ts';
import type { Clock } from '../clock.ts';
import { iso } from '../clock.ts';
import type { Database, SqlExecutor } from '../db/database.ts';
import type { AccountRepositories } from './account-repositories.ts';
import type { AuditLog } from './audit.ts';
import type { Actor, Caller } from './caller.ts';
import { deviceActor } from './caller.ts';
import { type AuthHashCost, hashSecret, newId, verifySecret } from './credentials.ts';
import type { PlansService } from './plans.ts';
import type { AttemptGuard } from './throttle.ts';

export interface AccountRow {
  id: string;
  email: string;
  role: Role;
  plan_id: string;
  disabled_at: number | null;
  kdf: string;
  auth_hash: string;
  repository_config: string | null;
  wrapped_key: string | null;
  recovery_hash: string | null;
  recovery_wrapped_key: string | null;
  totp_secret: string | null;
  totp_pending_secret: string | null;
  totp_last_step: number | null;
  warning_level: number;
  created_at: number;
}

/** normalizeEmail is how emails are compared and stored: trimmed, lower case. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

function wrongPassword(): CumulusError {
  return new CumulusError('wrong_password', 'the email or the password is wrong', {
    hint: 'check both and try again; after a few wrong tries you must wait before the next one',
  });
}

export function accountDisabled(): CumulusError {
  return new CumulusError('forbidden', 'this account is disabled', {
    hint: "ask the server's admin to enable it again",
  });
}

export function toAccount(row: AccountRow): Account {
  return {
    id: row.id,
    email: row.email,
    role: row.role,
    planId: row.plan_id,
    totpEnabled: row.totp_secret !== null,
    keysReady: row.wrapped_key !== null,
    hasRecoveryKey: row.recovery_hash !== null,
    createdAt: iso(row.created_at),
  };
}

export interface NewAccount {
  email: string;
  role?: Role;
  planId?: string;
  kdf: KdfParams;
  authKey: string;
}

export class AccountsService {
  readonly #db: Database;
  readonly #clock: Clock;
  readonly #audit: AuditLog;
  readonly #plans: PlansService;
  readonly #repositories: AccountRepositories;
  readonly #guard: AttemptGuard;
  readonly #hashCost: AuthHashCost;
  #decoyHash: Promise<string> | undefined;

  constructor(deps: {
    db: Database;
    clock: Clock;
    audit: AuditLog;
    plans: PlansService;
    repositories: AccountRepositories;
    guard: AttemptGuard;
    hashCost: AuthHashCost;
  }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
    this.#plans = deps.plans;
    this.#repositories = deps.repositories;
    this.#guard = deps.guard;
    this.#hashCost = deps.hashCost;
  }

  /** create makes an account; `within` runs in the same transaction (accepting an invite uses it up there). */
  async create(
    actor: Actor,
    input: NewAccount,
    within?: (tx: SqlExecutor) => Promise<void>,
  ): Promise<Account> {
    const email = normalizeEmail(input.email);
    const planId = input.planId ?? (await this.#plans.defaultPlan()).id;
    await this.#plans.get(planId);
    const authHash = await hashSecret(input.authKey, this.#hashCost);
    const id = newId();
    await this.#db.transaction(async (tx) => {
      await within?.(tx);
      if (await tx.get('SELECT id FROM accounts WHERE email = ?', [email])) {
        throw new CumulusError('conflict', `an account with the email ${email} exists already`);
      }
      await tx.run(
        'INSERT INTO accounts (id, email, role, plan_id, kdf, auth_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
        [id, email, input.role ?? 'user', planId, JSON.stringify(input.kdf), authHash, this.#clock.now()],
      );
      await this.#audit.record(
        {
          event: 'account_created',
          accountId: id,
          ...actor,
          details: { email, role: input.role ?? 'user', planId },
        },
        tx,
      );
    });
    return toAccount(await this.row(id));
  }

  /** row returns an account's row; an unknown ID → 'not_found'. */
  async row(id: string): Promise<AccountRow> {
    const row = await this.#db.get<AccountRow>('SELECT * FROM accounts WHERE id = ?', [id]);
    if (!row) throw new CumulusError('not_found', 'no such account');
    return row;
  }

  /** idByEmail finds an account by email, for the admin CLI. */
  async idByEmail(email: string): Promise<string> {
    const row = await this.#db.get<{ id: string }>('SELECT id FROM accounts WHERE email = ?', [
      normalizeEmail(email),
    ]);
    if (!row)
      throw new CumulusError('not_found', `there is no account with the email ${normalizeEmail(email)}`);
    return row.id;
  }

  async get(caller: Caller): Promise<Account> {
    return toAccount(await this.row(caller.accountId));
  }

  /** session describes the caller's session, with the server's time. */
  async session(caller: Caller): Promise<{
    accountId: string;
    deviceId: string;
    sessionId: string;
    email: string;
    role: Role;
    serverTime: string;
  }> {
    const row = await this.row(caller.accountId);
    const { accountId, deviceId, sessionId, role } = caller;
    return { accountId, deviceId, sessionId, role, email: row.email, serverTime: iso(this.#clock.now()) };
  }

  async countAdmins(): Promise<number> {
    return (await this.#db.get<{ n: number }>("SELECT count(*) AS n FROM accounts WHERE role = 'admin'"))!.n;
  }

  /**
   * kdfFor answers the pre-login question. For an unknown email it invents stable
   * parameters from a server secret, so the answer does not tell whether the account exists.
   */
  async kdfFor(email: string): Promise<KdfParams> {
    const normalized = normalizeEmail(email);
    const row = await this.#db.get<{ kdf: string }>('SELECT kdf FROM accounts WHERE email = ?', [normalized]);
    if (row) return JSON.parse(row.kdf) as KdfParams;
    const salt = createHmac('sha256', await this.#serverSecret())
      .update(`prelogin:${normalized}`)
      .digest('base64');
    return { name: 'scrypt', ...DEFAULT_KDF, salt };
  }

  /**
   * signInWithPassword checks an email and auth key, with growing delays on failures per
   * account and per address. Wrong email and wrong password look the same. A disabled
   * account is refused only after the password was right.
   */
  async signInWithPassword(email: string, authKey: string, ip: string): Promise<AccountRow> {
    const normalized = normalizeEmail(email);
    const attempt = await this.#guard.begin('password', normalized, ip);
    const row = await this.#db.get<AccountRow>('SELECT * FROM accounts WHERE email = ?', [normalized]);
    const ok = row ? await verifySecret(authKey, row.auth_hash) : await this.#decoyVerify(authKey);
    if (!row || !ok) {
      await this.#audit.record({
        event: 'sign_in_failed',
        accountId: row?.id ?? null,
        actor: 'anonymous',
        ip,
        details: { email: normalized, reason: 'password' },
      });
      throw wrongPassword();
    }
    await attempt.succeeded();
    if (row.disabled_at !== null) throw accountDisabled();
    return row;
  }

  /** requireEnabled throws 'forbidden' for a disabled account, inside the caller's transaction. */
  async requireEnabled(tx: SqlExecutor, accountId: string): Promise<void> {
    const row = await tx.get<{ disabled_at: number | null }>(
      'SELECT disabled_at FROM accounts WHERE id = ?',
      [accountId],
    );
    if ((row?.disabled_at ?? null) !== null) throw accountDisabled();
  }

  /** confirmPassword re-checks the password of a signed-in caller before a sensitive change. */
  async confirmPassword(caller: Caller, authKey: string): Promise<AccountRow> {
    const row = await this.row(caller.accountId);
    return this.signInWithPassword(row.email, authKey, caller.ip);
  }

  /** #decoyVerify spends the same time as a real check, so an unknown email is not faster. */
  async #decoyVerify(authKey: string): Promise<boolean> {
    this.#decoyHash ??= hashSecret(randomBytes(32).toString('base64'), this.#hashCost);
    await verifySecret(authKey, await this.#decoyHash);
    return false;
  }

  async #serverSecret(): Promise<string> {
    await this.#db.run('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING', [
      'prelogin_secret',
      randomBytes(32).toString('base64'),
    ]);
    return (await this.#db.get<{ value: string }>(
      "SELECT value FROM settings WHERE key = 'prelogin_secret'",
    ))!.value;
  }

  /** keysOf returns the account's sealed keys, or null before the first device made them. */
  keysOf(row: AccountRow, options: { withRecovery: boolean } = { withRecovery: false }): AccountKeys | null {
    if (row.wrapped_key === null || row.repository_config === null) return null;
    return {
      repositoryConfig: JSON.parse(row.repository_config) as RepositoryConfig,
      wrappedKey: row.wrapped_key,
      ...(options.withRecovery && row.recovery_wrapped_key !== null
        ? { recoveryWrappedKey: row.recovery_wrapped_key }
        : {}),
    };
  }

  async getKeys(caller: Caller): Promise<{ keys: AccountKeys | null; kdf: KdfParams }> {
    const row = await this.row(caller.accountId);
    return { keys: this.keysOf(row), kdf: JSON.parse(row.kdf) as KdfParams };
  }

  /** setUpKeys stores the first device's new account key (wrapped twice) and repository config, once. */
  async setUpKeys(
    caller: Caller,
    input: {
      repositoryConfig: RepositoryConfig;
      wrappedKey: string;
      recovery: { authKey: string; wrappedKey: string };
    },
  ): Promise<void> {
    validateChunkerParams(input.repositoryConfig.chunker);
    const recoveryHash = await hashSecret(input.recovery.authKey, this.#hashCost);
    await this.#db.transaction(async (tx) => {
      const { changes } = await tx.run(
        `UPDATE accounts SET repository_config = ?, wrapped_key = ?, recovery_hash = ?, recovery_wrapped_key = ?
         WHERE id = ? AND wrapped_key IS NULL`,
        [
          JSON.stringify(input.repositoryConfig),
          input.wrappedKey,
          recoveryHash,
          input.recovery.wrappedKey,
          caller.accountId,
        ],
      );
      if (changes === 0) {
        throw new CumulusError('conflict', 'this account has its keys already', {
          hint: 'another device created them first: fetch them with GET /api/account/keys',
        });
      }
      await this.#audit.record(
        { event: 'keys_created', accountId: caller.accountId, ...deviceActor(caller) },
        tx,
      );
    });
  }

  /**
   * changePassword replaces the salt, the auth hash and the wrapped account key in one
   * transaction, and only if the password was not changed meanwhile: either everything is
   * new or everything is old.
   */
  async changePassword(
    caller: Caller,
    input: { currentAuthKey: string; kdf: KdfParams; authKey: string; wrappedKey: string },
  ): Promise<void> {
    const row = await this.confirmPassword(caller, input.currentAuthKey);
    if (row.wrapped_key === null) {
      throw new CumulusError('conflict', 'this account has no key yet', {
        hint: 'sign in on a device first',
      });
    }
    const authHash = await hashSecret(input.authKey, this.#hashCost);
    await this.#db.transaction(async (tx) => {
      const { changes } = await tx.run(
        'UPDATE accounts SET kdf = ?, auth_hash = ?, wrapped_key = ? WHERE id = ? AND auth_hash = ?',
        [JSON.stringify(input.kdf), authHash, input.wrappedKey, row.id, row.auth_hash],
      );
      if (changes === 0)
        throw new CumulusError('conflict', 'the password was changed meanwhile', {
          hint: 'sign in again with the new password',
        });
      await this.#audit.record({ event: 'password_changed', accountId: row.id, ...deviceActor(caller) }, tx);
    });
  }

  async replaceRecoveryKey(
    caller: Caller,
    input: { authKey: string; recovery: { authKey: string; wrappedKey: string } },
  ): Promise<void> {
    const row = await this.confirmPassword(caller, input.authKey);
    if (row.wrapped_key === null)
      throw new CumulusError('conflict', 'this account has no key yet', {
        hint: 'sign in on a device first',
      });
    const recoveryHash = await hashSecret(input.recovery.authKey, this.#hashCost);
    await this.#db.transaction(async (tx) => {
      await tx.run('UPDATE accounts SET recovery_hash = ?, recovery_wrapped_key = ? WHERE id = ?', [
        recoveryHash,
        input.recovery.wrappedKey,
        row.id,
      ]);
      await this.#audit.record(
        { event: 'recovery_key_replaced', accountId: row.id, ...deviceActor(caller) },
        tx,
      );
    });
  }

  /** recoveryKeyMatches checks the auth half of a recovery key. */
  async recoveryKeyMatches(row: AccountRow, recoveryAuthKey: string): Promise<boolean> {
    return row.recovery_hash !== null && (await verifySecret(recoveryAuthKey, row.recovery_hash));
  }

  /** setDisabled disables or enables an account; the caller revokes its sessions. */
  async setDisabled(actor: Actor, accountId: string, disabled: boolean): Promise<void> {
    await this.#db.transaction(async (tx) => {
      const { changes } = await tx.run('UPDATE accounts SET disabled_at = ? WHERE id = ?', [
        disabled ? this.#clock.now() : null,
        accountId,
      ]);
      if (changes === 0) throw new CumulusError('not_found', 'no such account');
      await this.#audit.record(
        { event: disabled ? 'account_disabled' : 'account_enabled', accountId, ...actor },
        tx,
      );
    });
  }

  /** adminView lists accounts with device counts and usage, for the admin. */
  async adminView(accountId?: string): Promise<AdminUser[]> {
    const rows = await this.#db.all<AccountRow & { devices: number }>(
      `SELECT accounts.*, (SELECT count(*) FROM devices WHERE devices.account_id = accounts.id AND removed_at IS NULL) AS devices
       FROM accounts WHERE (? IS NULL OR id = ?) ORDER BY email`,
      [accountId ?? null, accountId ?? null],
    );
    if (accountId !== undefined && rows.length === 0) throw new CumulusError('not_found', 'no such account');
    return Promise.all(
      rows.map(async (row) => ({
        id: row.id,
        email: row.email,
        role: row.role,
        planId: row.plan_id,
        disabled: row.disabled_at !== null,
        devices: row.devices,
        usedBytes: await (await this.#repositories.forAccount(row.id)).usedBytes(),
        createdAt: iso(row.created_at),
      })),
    );
  }
}
