/**
 * AccountRecords owns the `accounts` table: every statement on it is here, and the other
 * services read and change accounts through these named methods, as camelCase records.
 * A method that takes an executor runs inside the caller's transaction (or on the database).
 */
import type { Role } from '../../api/account.ts';
import type { KdfParams, RepositoryConfig } from '../../api/common.ts';
import type { Database, SqlExecutor } from '../db/database.ts';

export interface AccountRecord {
  id: string;
  email: string;
  role: Role;
  planId: string;
  disabledAt: number | null;
  kdf: KdfParams;
  authHash: string;
  repositoryConfig: RepositoryConfig | null;
  wrappedKey: string | null;
  recoveryHash: string | null;
  recoveryWrappedKey: string | null;
  totpSecret: string | null;
  totpPendingSecret: string | null;
  totpLastStep: number | null;
  warningLevel: number;
  createdAt: number;
}

interface AccountRow {
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

function toRecord(row: AccountRow): AccountRecord {
  return {
    id: row.id,
    email: row.email,
    role: row.role,
    planId: row.plan_id,
    disabledAt: row.disabled_at,
    kdf: JSON.parse(row.kdf) as KdfParams,
    authHash: row.auth_hash,
    repositoryConfig:
      row.repository_config === null ? null : (JSON.parse(row.repository_config) as RepositoryConfig),
    wrappedKey: row.wrapped_key,
    recoveryHash: row.recovery_hash,
    recoveryWrappedKey: row.recovery_wrapped_key,
    totpSecret: row.totp_secret,
    totpPendingSecret: row.totp_pending_secret,
    totpLastStep: row.totp_last_step,
    warningLevel: row.warning_level,
    createdAt: row.created_at,
  };
}

export class AccountRecords {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  async byId(id: string): Promise<AccountRecord | undefined> {
    const row = await this.#db.get<AccountRow>('SELECT * FROM accounts WHERE id = ?', [id]);
    return row && toRecord(row);
  }

  /** byEmail takes the email as stored (normalized). */
  async byEmail(email: string): Promise<AccountRecord | undefined> {
    const row = await this.#db.get<AccountRow>('SELECT * FROM accounts WHERE email = ?', [email]);
    return row && toRecord(row);
  }

  async idByEmail(executor: SqlExecutor, email: string): Promise<string | undefined> {
    return (await executor.get<{ id: string }>('SELECT id FROM accounts WHERE email = ?', [email]))?.id;
  }

  async kdfByEmail(email: string): Promise<KdfParams | undefined> {
    const row = await this.#db.get<{ kdf: string }>('SELECT kdf FROM accounts WHERE email = ?', [email]);
    return row && (JSON.parse(row.kdf) as KdfParams);
  }

  /** listWithDeviceCounts lists one account, or all of them when accountId is undefined, by email. */
  async listWithDeviceCounts(accountId?: string): Promise<(AccountRecord & { devices: number })[]> {
    const rows = await this.#db.all<AccountRow & { devices: number }>(
      `SELECT accounts.*, (SELECT count(*) FROM devices WHERE devices.account_id = accounts.id AND removed_at IS NULL) AS devices
       FROM accounts WHERE (? IS NULL OR id = ?) ORDER BY email`,
      [accountId ?? null, accountId ?? null],
    );
    return rows.map((row) => ({ ...toRecord(row), devices: row.devices }));
  }

  async count(): Promise<number> {
    return (await this.#db.get<{ n: number }>('SELECT count(*) AS n FROM accounts'))!.n;
  }

  async countAdmins(): Promise<number> {
    return (await this.#db.get<{ n: number }>("SELECT count(*) AS n FROM accounts WHERE role = 'admin'"))!.n;
  }

  async insert(
    tx: SqlExecutor,
    account: {
      id: string;
      email: string;
      role: Role;
      planId: string;
      kdf: KdfParams;
      authHash: string;
      createdAt: number;
    },
  ): Promise<void> {
    await tx.run(
      'INSERT INTO accounts (id, email, role, plan_id, kdf, auth_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      [
        account.id,
        account.email,
        account.role,
        account.planId,
        JSON.stringify(account.kdf),
        account.authHash,
        account.createdAt,
      ],
    );
  }

  /** disabledAt is undefined for an unknown account. */
  async disabledAt(tx: SqlExecutor, id: string): Promise<number | null | undefined> {
    const row = await tx.get<{ disabled_at: number | null }>(
      'SELECT disabled_at FROM accounts WHERE id = ?',
      [id],
    );
    return row?.disabled_at;
  }

  /** setDisabledAt returns false for an unknown account. */
  async setDisabledAt(tx: SqlExecutor, id: string, at: number | null): Promise<boolean> {
    const { changes } = await tx.run('UPDATE accounts SET disabled_at = ? WHERE id = ?', [at, id]);
    return changes !== 0;
  }

  /** setKeysOnce stores the first keys; false when the account has its keys already. */
  async setKeysOnce(
    tx: SqlExecutor,
    id: string,
    keys: {
      repositoryConfig: RepositoryConfig;
      wrappedKey: string;
      recoveryHash: string;
      recoveryWrappedKey: string;
    },
  ): Promise<boolean> {
    const { changes } = await tx.run(
      `UPDATE accounts SET repository_config = ?, wrapped_key = ?, recovery_hash = ?, recovery_wrapped_key = ?
       WHERE id = ? AND wrapped_key IS NULL`,
      [
        JSON.stringify(keys.repositoryConfig),
        keys.wrappedKey,
        keys.recoveryHash,
        keys.recoveryWrappedKey,
        id,
      ],
    );
    return changes !== 0;
  }

  /** replacePassword swaps the password's secrets only if the auth hash is still `expectedAuthHash`. */
  async replacePassword(
    tx: SqlExecutor,
    id: string,
    expectedAuthHash: string,
    next: { kdf: KdfParams; authHash: string; wrappedKey: string },
  ): Promise<boolean> {
    const { changes } = await tx.run(
      'UPDATE accounts SET kdf = ?, auth_hash = ?, wrapped_key = ? WHERE id = ? AND auth_hash = ?',
      [JSON.stringify(next.kdf), next.authHash, next.wrappedKey, id, expectedAuthHash],
    );
    return changes !== 0;
  }

  async setRecovery(
    tx: SqlExecutor,
    id: string,
    recoveryHash: string,
    recoveryWrappedKey: string,
  ): Promise<void> {
    await tx.run('UPDATE accounts SET recovery_hash = ?, recovery_wrapped_key = ? WHERE id = ?', [
      recoveryHash,
      recoveryWrappedKey,
      id,
    ]);
  }

  async setPendingTotp(id: string, secret: string): Promise<void> {
    await this.#db.run('UPDATE accounts SET totp_pending_secret = ? WHERE id = ?', [secret, id]);
  }

  /** confirmTotp makes the pending secret the account's, with its first accepted step. */
  async confirmTotp(tx: SqlExecutor, id: string, step: number): Promise<void> {
    await tx.run(
      'UPDATE accounts SET totp_secret = totp_pending_secret, totp_pending_secret = NULL, totp_last_step = ? WHERE id = ?',
      [step, id],
    );
  }

  async clearTotp(tx: SqlExecutor, id: string): Promise<void> {
    await tx.run(
      'UPDATE accounts SET totp_secret = NULL, totp_pending_secret = NULL, totp_last_step = NULL WHERE id = ?',
      [id],
    );
  }

  /** advanceTotpStep stores a step later than the last one accepted; false when it is not later. */
  async advanceTotpStep(id: string, step: number): Promise<boolean> {
    const { changes } = await this.#db.run(
      'UPDATE accounts SET totp_last_step = ? WHERE id = ? AND (totp_last_step IS NULL OR totp_last_step < ?)',
      [step, id, step],
    );
    return changes === 1;
  }

  /** warningLevel is undefined for an unknown account. */
  async warningLevel(executor: SqlExecutor, id: string): Promise<number | undefined> {
    const row = await executor.get<{ warning_level: number }>(
      'SELECT warning_level FROM accounts WHERE id = ?',
      [id],
    );
    return row?.warning_level;
  }

  async setWarningLevel(tx: SqlExecutor, id: string, level: number): Promise<void> {
    await tx.run('UPDATE accounts SET warning_level = ? WHERE id = ?', [level, id]);
  }

  /** planIdOf is undefined for an unknown account. */
  async planIdOf(executor: SqlExecutor, id: string): Promise<string | undefined> {
    return (await executor.get<{ plan_id: string }>('SELECT plan_id FROM accounts WHERE id = ?', [id]))
      ?.plan_id;
  }

  async setPlan(tx: SqlExecutor, id: string, planId: string): Promise<void> {
    await tx.run('UPDATE accounts SET plan_id = ? WHERE id = ?', [planId, id]);
  }
}
