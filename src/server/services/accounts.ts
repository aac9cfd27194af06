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
import type { AccountRecord, AccountRecords } from './account-records.ts';
import type { AccountRepositories } from './account-repositories.ts';
import type { AuditLog } from './audit.ts';
import type { Actor, Caller } from './caller.ts';
import { deviceActor } from './caller.ts';
import { type AuthHashCost, hashSecret, newId, verifySecret } from './credentials.ts';
import type { PlansService } from './plans.ts';
import type { AttemptGuard } from './throttle.ts';

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

function toAccount(record: AccountRecord): Account {
  return {
    id: record.id,
    email: record.email,
    role: record.role,
    planId: record.planId,
    totpEnabled: record.totpSecret !== null,
    keysReady: record.wrappedKey !== null,
    hasRecoveryKey: record.recoveryHash !== null,
    createdAt: iso(record.createdAt),
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
  readonly #records: AccountRecords;
  readonly #clock: Clock;
  readonly #audit: AuditLog;
  readonly #plans: PlansService;
  readonly #repositories: AccountRepositories;
  readonly #guard: AttemptGuard;
  readonly #hashCost: AuthHashCost;
  #decoyHash: Promise<string> | undefined;

  constructor(deps: {
    db: Database;
    records: AccountRecords;
    clock: Clock;
    audit: AuditLog;
    plans: PlansService;
    repositories: AccountRepositories;
    guard: AttemptGuard;
    hashCost: AuthHashCost;
  }) {
    this.#db = deps.db;
    this.#records = deps.records;
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
      if ((await this.#records.idByEmail(tx, email)) !== undefined) {
        throw new CumulusError('conflict', `an account with the email ${email} exists already`);
      }
      await this.#records.insert(tx, {
        id,
        email,
        role: input.role ?? 'user',
        planId,
        kdf: input.kdf,
        authHash,
        createdAt: this.#clock.now(),
      });
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
    return toAccount(await this.record(id));
  }

  /** record returns an account's record; an unknown ID → 'not_found'. */
  async record(id: string): Promise<AccountRecord> {
    const record = await this.#records.byId(id);
    if (!record) throw new CumulusError('not_found', 'no such account');
    return record;
  }

  /** idByEmail finds an account by email, for the admin CLI. */
  async idByEmail(email: string): Promise<string> {
    const id = await this.#records.idByEmail(this.#db, normalizeEmail(email));
    if (id === undefined)
      throw new CumulusError('not_found', `there is no account with the email ${normalizeEmail(email)}`);
    return id;
  }

  async get(caller: Caller): Promise<Account> {
    return toAccount(await this.record(caller.accountId));
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
    const { email } = await this.record(caller.accountId);
    const { accountId, deviceId, sessionId, role } = caller;
    return { accountId, deviceId, sessionId, role, email, serverTime: iso(this.#clock.now()) };
  }

  async countAdmins(): Promise<number> {
    return this.#records.countAdmins();
  }

  /**
   * kdfFor answers the pre-login question. For an unknown email it invents stable
   * parameters from a server secret, so the answer does not tell whether the account exists.
   */
  async kdfFor(email: string): Promise<KdfParams> {
    const normalized = normalizeEmail(email);
    const kdf = await this.#records.kdfByEmail(normalized);
    if (kdf) return kdf;
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
  async signInWithPassword(email: string, authKey: string, ip: string): Promise<AccountRecord> {
    const normalized = normalizeEmail(email);
    const attempt = await this.#guard.begin('password', normalized, ip);
    const record = await this.#records.byEmail(normalized);
    const ok = record ? await verifySecret(authKey, record.authHash) : await this.#decoyVerify(authKey);
    if (!record || !ok) {
      await this.#audit.record({
        event: 'sign_in_failed',
        accountId: record?.id ?? null,
        actor: 'anonymous',
        ip,
        details: { email: normalized, reason: 'password' },
      });
      throw wrongPassword();
    }
    await attempt.succeeded();
    if (record.disabledAt !== null) throw accountDisabled();
    return record;
  }

  /** requireEnabled throws 'forbidden' for a disabled account, inside the caller's transaction. */
  async requireEnabled(tx: SqlExecutor, accountId: string): Promise<void> {
    if (((await this.#records.disabledAt(tx, accountId)) ?? null) !== null) throw accountDisabled();
  }

  /** confirmPassword re-checks the password of a signed-in caller before a sensitive change. */
  async confirmPassword(caller: Caller, authKey: string): Promise<AccountRecord> {
    const { email } = await this.record(caller.accountId);
    return this.signInWithPassword(email, authKey, caller.ip);
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
  keysOf(
    record: AccountRecord,
    options: { withRecovery: boolean } = { withRecovery: false },
  ): AccountKeys | null {
    if (record.wrappedKey === null || record.repositoryConfig === null) return null;
    return {
      repositoryConfig: record.repositoryConfig,
      wrappedKey: record.wrappedKey,
      ...(options.withRecovery && record.recoveryWrappedKey !== null
        ? { recoveryWrappedKey: record.recoveryWrappedKey }
        : {}),
    };
  }

  async getKeys(caller: Caller): Promise<{ keys: AccountKeys | null; kdf: KdfParams }> {
    const record = await this.record(caller.accountId);
    return { keys: this.keysOf(record), kdf: record.kdf };
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
      const stored = await this.#records.setKeysOnce(tx, caller.accountId, {
        repositoryConfig: input.repositoryConfig,
        wrappedKey: input.wrappedKey,
        recoveryHash,
        recoveryWrappedKey: input.recovery.wrappedKey,
      });
      if (!stored) {
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
    const record = await this.confirmPassword(caller, input.currentAuthKey);
    if (record.wrappedKey === null) {
      throw new CumulusError('conflict', 'this account has no key yet', {
        hint: 'sign in on a device first',
      });
    }
    const authHash = await hashSecret(input.authKey, this.#hashCost);
    await this.#db.transaction(async (tx) => {
      const replaced = await this.#records.replacePassword(tx, record.id, record.authHash, {
        kdf: input.kdf,
        authHash,
        wrappedKey: input.wrappedKey,
      });
      if (!replaced)
        throw new CumulusError('conflict', 'the password was changed meanwhile', {
          hint: 'sign in again with the new password',
        });
      await this.#audit.record(
        { event: 'password_changed', accountId: record.id, ...deviceActor(caller) },
        tx,
      );
    });
  }

  async replaceRecoveryKey(
    caller: Caller,
    input: { authKey: string; recovery: { authKey: string; wrappedKey: string } },
  ): Promise<void> {
    const record = await this.confirmPassword(caller, input.authKey);
    if (record.wrappedKey === null)
      throw new CumulusError('conflict', 'this account has no key yet', {
        hint: 'sign in on a device first',
      });
    const recoveryHash = await hashSecret(input.recovery.authKey, this.#hashCost);
    await this.#db.transaction(async (tx) => {
      await this.#records.setRecovery(tx, record.id, recoveryHash, input.recovery.wrappedKey);
      await this.#audit.record(
        { event: 'recovery_key_replaced', accountId: record.id, ...deviceActor(caller) },
        tx,
      );
    });
  }

  /** recoveryKeyMatches checks the auth half of a recovery key. */
  async recoveryKeyMatches(record: AccountRecord, recoveryAuthKey: string): Promise<boolean> {
    return record.recoveryHash !== null && (await verifySecret(recoveryAuthKey, record.recoveryHash));
  }

  /** setDisabled disables or enables an account; the caller revokes its sessions. */
  async setDisabled(actor: Actor, accountId: string, disabled: boolean): Promise<void> {
    await this.#db.transaction(async (tx) => {
      const found = await this.#records.setDisabledAt(tx, accountId, disabled ? this.#clock.now() : null);
      if (!found) throw new CumulusError('not_found', 'no such account');
      await this.#audit.record(
        { event: disabled ? 'account_disabled' : 'account_enabled', accountId, ...actor },
        tx,
      );
    });
  }

  /** adminView lists accounts with device counts and usage, for the admin. */
  async adminView(accountId?: string): Promise<AdminUser[]> {
    const records = await this.#records.listWithDeviceCounts(accountId);
    if (accountId !== undefined && records.length === 0)
      throw new CumulusError('not_found', 'no such account');
    return Promise.all(
      records.map(async (record) => ({
        id: record.id,
        email: record.email,
        role: record.role,
        planId: record.planId,
        disabled: record.disabledAt !== null,
        devices: record.devices,
        usedBytes: await (await this.#repositories.forAccount(record.id)).usedBytes(),
        createdAt: iso(record.createdAt),
      })),
    );
  }
}
