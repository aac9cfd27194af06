/**
 * Where the server keeps every account's repository metadata (the pack index, snapshots,
 * references, locks): a SQLite file in each account's folder, `DATA/accounts/<id>/index.sqlite`
 * (the default), or one set of PostgreSQL tables keyed by account (CUMULUS_DATABASE_URL, on
 * the pool the server database uses).
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type pg from 'pg';
import type { MetaStore } from '../../store/meta-store.ts';
import { PostgresMetaStore } from '../../store/postgres-meta-store.ts';
import { SqliteMetaStore } from '../../store/sqlite-meta-store.ts';

export interface AccountMetaStores {
  /** forAccount is the MetaStore of one account whose repository folder is `dir`. */
  forAccount(accountId: string, dir: string): MetaStore;
  /** accounts lists the accounts that have a repository (any replica may have made it). */
  accounts(): Promise<string[]>;
}

const ACCOUNT_ID = /^[0-9a-f]{32}$/;

class SqliteMetaStores implements AccountMetaStores {
  readonly #root: string;

  constructor(root: string) {
    this.#root = root;
  }

  forAccount(_accountId: string, dir: string): MetaStore {
    return new SqliteMetaStore(join(dir, 'index.sqlite'));
  }

  async accounts(): Promise<string[]> {
    try {
      return (await readdir(this.#root)).filter((name) => ACCOUNT_ID.test(name)).sort();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
  }
}

class PostgresMetaStores implements AccountMetaStores {
  readonly #pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  forAccount(accountId: string): MetaStore {
    return new PostgresMetaStore(this.#pool, accountId);
  }

  async accounts(): Promise<string[]> {
    try {
      const { rows } = await this.#pool.query<{ account: string }>(
        'SELECT account FROM generation ORDER BY account',
      );
      return rows.map((r) => r.account);
    } catch (error) {
      // No account has opened a repository yet: the store's tables do not exist.
      if ((error as { code?: string }).code === '42P01') return [];
      throw error;
    }
  }
}

/** openMetaStores: on PostgreSQL with a pool, else SQLite files under `accountsRoot`. */
export function openMetaStores(pool: pg.Pool | undefined, accountsRoot: string): AccountMetaStores {
  return pool === undefined ? new SqliteMetaStores(accountsRoot) : new PostgresMetaStores(pool);
}
