/**
 * PostgresMetaStore is one account's MetaStore in a PostgreSQL database that every account
 * shares: the queries of SqlMetaStore, with every table keyed by account (`account` column;
 * row numbers are unique across accounts, so a statement by row needs no account).
 *
 * Concurrency, as SqliteMetaStore gives it across processes: every write transaction first
 * takes the account's advisory lock (`pg_advisory_xact_lock`), so the writes of one account
 * never interleave, on any server replica: the quota check of a commit and its write, a
 * touch and a gc's delete of the same blob, are serialised; blob rows are numbered in the
 * order the writes commit (blobsSince's cursor). Within one process the writes of an
 * account also wait for each other before they take a connection, so at most one
 * connection per replica waits on an account's lock. Reads run in one REPEATABLE READ
 * snapshot. Accounts do not wait for each other.
 */
import pg from 'pg';
import { CumulusError } from '../core/errors.ts';
import { inTransaction, lockingBegin, toNumbered } from './postgres.ts';
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

/** accountWriteBegin opens a transaction holding the account's lock (lockAccount's, in the same round trip). */
function accountWriteBegin(account: string): string {
  return lockingBegin(ACCOUNT_LOCK_CLASS, `hashtext(${pg.escapeLiteral(account)})`);
}

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
    ready = inTransaction(pool, lockingBegin(SCHEMA_LOCK), async (client) => {
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

/**
 * The last write of each account this process queued, per pool. The writes of one account
 * wait here for each other before they take a connection: a connection waiting on the
 * account's advisory lock is one the other accounts' requests cannot use, and with a few
 * devices of one account writing at once they would soon hold the whole pool.
 */
const lastWrites = new WeakMap<pg.Pool, Map<string, Promise<unknown>>>();

function afterPreviousWrite<T>(pool: pg.Pool, account: string, write: () => Promise<T>): Promise<T> {
  const queue = lastWrites.get(pool) ?? new Map<string, Promise<unknown>>();
  lastWrites.set(pool, queue);
  const result = (queue.get(account) ?? Promise.resolve()).then(write);
  const settled = result.catch(() => {});
  queue.set(account, settled);
  void settled.then(() => {
    if (queue.get(account) === settled) queue.delete(account);
  });
  return result;
}

class PostgresEngine implements MetaEngine {
  readonly dialect = POSTGRES;
  readonly #pool: pg.Pool;
  readonly #account: string;
  readonly #writeBegin: string;
  #ready: Promise<void> | undefined;

  constructor(pool: pg.Pool, account: string) {
    this.#pool = pool;
    this.#account = account;
    this.#writeBegin = accountWriteBegin(account);
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

  /** #drive runs a method body's statements on `client` (or, for one statement, the pool). */
  async #drive<T>(client: pg.PoolClient | pg.Pool, work: Work<T>, oneStatement = false): Promise<T> {
    let step = work.next();
    for (let ran = 0; !step.done; ran++) {
      if (oneStatement && ran === 1) throw new Error('a read said to run one statement ran a second');
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

  async #transaction<T>(begin: string, work: () => Work<T>): Promise<T> {
    await this.#opened();
    return inTransaction(this.#pool, begin, (client) => this.#drive(client, work()));
  }

  write<T>(work: () => Work<T>, options: { durable?: boolean } = {}): Promise<T> {
    // A touch needs no wait for the disk (see touchBlobs); the data stays consistent.
    const begin =
      options.durable === false
        ? `${this.#writeBegin}; SET LOCAL synchronous_commit = off`
        : this.#writeBegin;
    return afterPreviousWrite(this.#pool, this.#account, () => this.#transaction(begin, work));
  }

  async read<T>(work: () => Work<T>, options: { oneStatement?: boolean } = {}): Promise<T> {
    if (!options.oneStatement)
      return this.#transaction('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY', work);
    await this.#opened();
    return this.#drive(this.#pool, work(), true);
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
