/**
 * PostgresMetaStore is one account's MetaStore in a PostgreSQL database that every account
 * shares: the queries of SqlMetaStore, with every table keyed by account (`account` column;
 * row numbers are unique across accounts, so a statement by row needs no account).
 *
 * Concurrency, as SqliteMetaStore gives it across processes: every write transaction first
 * takes the account's advisory lock (`pg_advisory_xact_lock`), so the writes of one account
 * never interleave, on any server replica: the quota check of a commit and its write, a
 * touch and a gc's delete of the same blob, are serialised; blob rows are numbered in the
 * order the writes commit (blobsSince's cursor). Reads run in one REPEATABLE READ snapshot.
 * Accounts do not wait for each other.
 */
import type pg from 'pg';
import { CumulusError } from '../core/errors.ts';
import { inTransaction, toNumbered } from './postgres.ts';
import {
  type MetaDialect,
  type MetaEngine,
  type MetaParams,
  newGenerationValue,
  SqlMetaStore,
  type Work,
} from './sql-meta-store.ts';

/** POSTGRES_SCHEMA is version 1 of the store's tables in PostgreSQL (SqliteMetaStore's SCHEMA, keyed by account). */
export const POSTGRES_SCHEMA = `
CREATE TABLE packs (
  row BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  account TEXT NOT NULL,
  id BYTEA NOT NULL,
  size BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  UNIQUE (account, id)
);
CREATE TABLE blobs (
  row BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  account TEXT NOT NULL,
  id BYTEA NOT NULL,
  type INTEGER NOT NULL,
  pack BIGINT NOT NULL REFERENCES packs(row),
  "offset" BIGINT NOT NULL,
  length BIGINT NOT NULL,
  touched_at BIGINT NOT NULL,
  ref_count BIGINT NOT NULL DEFAULT 0,
  UNIQUE (account, id)
);
CREATE INDEX blobs_pack ON blobs(pack);
CREATE INDEX blobs_account_row ON blobs(account, row);
CREATE INDEX blobs_unreferenced ON blobs(account, touched_at) WHERE ref_count = 0;
CREATE TABLE snapshots (
  row BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  account TEXT NOT NULL,
  id BYTEA NOT NULL,
  time TEXT NOT NULL,
  device TEXT NOT NULL,
  blob BIGINT NOT NULL REFERENCES blobs(row),
  UNIQUE (account, id)
);
CREATE INDEX snapshots_device ON snapshots(account, device);
CREATE TABLE refsets (
  row BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  account TEXT NOT NULL,
  hash BYTEA NOT NULL,
  data BYTEA NOT NULL,
  UNIQUE (account, hash)
);
CREATE TABLE snapshot_sources (
  account TEXT NOT NULL,
  snapshot BIGINT NOT NULL REFERENCES snapshots(row) ON DELETE CASCADE,
  source BYTEA NOT NULL,
  tree BYTEA NOT NULL,
  logical_size BIGINT NOT NULL,
  refset BIGINT NOT NULL REFERENCES refsets(row),
  PRIMARY KEY (snapshot, source)
);
CREATE INDEX snapshot_sources_refset ON snapshot_sources(refset);
CREATE INDEX snapshot_sources_account ON snapshot_sources(account);
CREATE TABLE locks (
  account TEXT NOT NULL,
  id TEXT NOT NULL,
  host TEXT NOT NULL,
  pid BIGINT NOT NULL,
  kind TEXT NOT NULL,
  started_at BIGINT NOT NULL,
  heartbeat_at BIGINT NOT NULL,
  PRIMARY KEY (account, id)
);
CREATE TABLE generation (account TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE condemned_packs (
  account TEXT NOT NULL,
  id BYTEA NOT NULL,
  size BIGINT NOT NULL,
  condemned_at BIGINT NOT NULL,
  PRIMARY KEY (account, id)
);
`;

const SCHEMA_VERSION = 1;

/** Advisory lock keys: the schema's (one bigint key), and the accounts' (class, hash of the account). */
const SCHEMA_LOCK = 7_301_412;
const ACCOUNT_LOCK_CLASS = 7_301;

const POSTGRES: MetaDialect = {
  jsonRows: (param, alias) => `json_array_elements_text(CAST(${param} AS json)) AS ${alias}(value)`,
  jsonTuples: (param, alias) => `json_array_elements(CAST(${param} AS json)) AS ${alias}(value)`,
  unhex: (expr) => `decode(${expr}, 'hex')`,
  jsonArray: (expr) => `json_agg(${expr})`,
  mine: (alias) => `${alias === undefined ? '' : `${alias}.`}account = :account`,
  keyed: (columns) => `account, ${columns}`,
  keyedValues: (values) => `CAST(:account AS TEXT), ${values}`,
};

const schemas = new WeakMap<pg.Pool, Promise<void>>();

/** ensureSchema creates (once per pool, once across replicas) the store's tables. */
export function ensureSchema(pool: pg.Pool): Promise<void> {
  let ready = schemas.get(pool);
  if (ready === undefined) {
    ready = inTransaction(pool, 'BEGIN', async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK]);
      await client.query('CREATE TABLE IF NOT EXISTS store_schema (version BIGINT NOT NULL)');
      const { rows } = await client.query<{ version: number }>('SELECT version FROM store_schema');
      const version = rows[0]?.version ?? 0;
      if (version > SCHEMA_VERSION) {
        throw new CumulusError(
          'update_required',
          `the repository tables use schema ${version}, newer than this Cumulus`,
          {
            hint: 'run the newer Cumulus server version',
          },
        );
      }
      if (version === 0) {
        await client.query(POSTGRES_SCHEMA);
        await client.query('INSERT INTO store_schema (version) VALUES ($1)', [SCHEMA_VERSION]);
      }
    });
    schemas.set(pool, ready);
    ready.catch(() => schemas.delete(pool));
  }
  return ready;
}

/** lockAccount takes `account`'s write lock for the rest of the client's transaction. */
export async function lockAccount(client: pg.PoolClient, account: string): Promise<void> {
  await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [ACCOUNT_LOCK_CLASS, account]);
}

const translations = new Map<string, { text: string; names: string[] }>();

class PostgresEngine implements MetaEngine {
  readonly dialect = POSTGRES;
  readonly #pool: pg.Pool;
  readonly #account: string;
  #ready: Promise<void> | undefined;

  constructor(pool: pg.Pool, account: string) {
    this.#pool = pool;
    this.#account = account;
  }

  /** #opened creates the tables and this account's generation on first use. */
  #opened(): Promise<void> {
    this.#ready ??= (async () => {
      await ensureSchema(this.#pool);
      await this.#pool.query(
        'INSERT INTO generation (account, value) VALUES ($1, $2) ON CONFLICT (account) DO NOTHING',
        [this.#account, newGenerationValue()],
      );
    })();
    this.#ready.catch(() => (this.#ready = undefined));
    return this.#ready;
  }

  async #drive<T>(client: pg.PoolClient, work: Work<T>): Promise<T> {
    let step = work.next();
    while (!step.done) {
      const { kind, sql, params } = step.value;
      let translated = translations.get(sql);
      if (translated === undefined) {
        translated = toNumbered(sql);
        translations.set(sql, translated);
      }
      const values = translated.names.map((name) => this.#value(params, name));
      const result = await client.query(translated.text, values);
      step = work.next(
        kind === 'all' ? result.rows : kind === 'get' ? result.rows[0] : (result.rowCount ?? 0),
      );
    }
    return step.value;
  }

  #value(params: MetaParams, name: string): unknown {
    if (name === 'account') return this.#account;
    const value = params[name];
    if (value === undefined) throw new Error(`no value for the statement's :${name}`);
    return value instanceof Uint8Array && !Buffer.isBuffer(value)
      ? Buffer.from(value.buffer, value.byteOffset, value.byteLength)
      : value;
  }

  async #transaction<T>(
    begin: string,
    prepare: (client: pg.PoolClient) => Promise<void>,
    work: () => Work<T>,
  ): Promise<T> {
    await this.#opened();
    return inTransaction(this.#pool, begin, async (client) => {
      await prepare(client);
      return this.#drive(client, work());
    });
  }

  write<T>(work: () => Work<T>, options: { durable?: boolean } = {}): Promise<T> {
    return this.#transaction(
      'BEGIN',
      async (client) => {
        await lockAccount(client, this.#account);
        // A touch needs no wait for the disk (see touchBlobs); the data stays consistent.
        if (options.durable === false) await client.query('SET LOCAL synchronous_commit = off');
      },
      work,
    );
  }

  read<T>(work: () => Work<T>): Promise<T> {
    return this.#transaction('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY', async () => {}, work);
  }

  /** The pool is the server's, shared by every account: it closes it. */
  async close(): Promise<void> {}
}

export class PostgresMetaStore extends SqlMetaStore {
  /** The repository metadata of `account` in the database behind `pool` (its tables made on first use). */
  constructor(pool: pg.Pool, account: string) {
    super(new PostgresEngine(pool, account));
  }
}
