/**
 * SqliteMetaStore is the MetaStore on one SQLite file (node:sqlite) in WAL mode, so a local
 * repository and a small server need nothing else: the queries of SqlMetaStore, run by
 * SqliteEngine. Several processes may open the same file: every write is one
 * `BEGIN IMMEDIATE` transaction, and the busy timeout makes a second writer wait instead
 * of failing. A transaction runs synchronously from BEGIN to COMMIT.
 */
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import { CumulusError } from '../core/errors.ts';
import { type MetaDialect, type MetaEngine, SqlMetaStore, type Work } from './sql-meta-store.ts';

export { MISSING_NAMED } from './sql-meta-store.ts';

export const SCHEMA_VERSION = 3;

/**
 * GENERATION_SCHEMA is what version 2 added: the index's generation, 16 random bytes as
 * hex, replaced in the transaction that removes any blob from the index (gc, a rebuild).
 * A client's cursor into `blobs.row` (blobsSince) holds only within one generation.
 */
const GENERATION_SCHEMA = `
CREATE TABLE generation (
  only INTEGER PRIMARY KEY CHECK (only = 0),
  value TEXT NOT NULL
);
INSERT INTO generation (only, value) VALUES (0, lower(hex(randomblob(16))));
`;

/**
 * CONDEMNED_SCHEMA is what version 3 added: packs gc has taken out of the index, kept as
 * files until the grace is over (RepositoryStore.gc); portable SQL.
 */
const CONDEMNED_SCHEMA = `
CREATE TABLE condemned_packs (
  id BLOB PRIMARY KEY,
  size INTEGER NOT NULL,
  condemned_at INTEGER NOT NULL
);
`;

/** SCHEMA is version 1 of index.sqlite (docs/format.md refers here); 2 adds GENERATION_SCHEMA, 3 CONDEMNED_SCHEMA. */
export const SCHEMA = `
CREATE TABLE packs (
  row INTEGER PRIMARY KEY,
  id BLOB NOT NULL UNIQUE,
  size INTEGER NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE blobs (
  row INTEGER PRIMARY KEY,
  id BLOB NOT NULL UNIQUE,
  type INTEGER NOT NULL,            -- 0 data, 1 tree, 2 snapshot
  pack INTEGER NOT NULL REFERENCES packs(row),
  offset INTEGER NOT NULL,
  length INTEGER NOT NULL,
  touched_at INTEGER NOT NULL,      -- ms; last time a writer stored it or was told it exists
  ref_count INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX blobs_pack ON blobs(pack);
CREATE INDEX blobs_unreferenced ON blobs(touched_at) WHERE ref_count = 0;
CREATE TABLE snapshots (
  row INTEGER PRIMARY KEY,
  id BLOB NOT NULL UNIQUE,
  time TEXT NOT NULL,
  device TEXT NOT NULL,
  blob INTEGER NOT NULL REFERENCES blobs(row)
);
CREATE INDEX snapshots_device ON snapshots(device);
-- data: sorted blob rows, delta-encoded LEB128 varints (refset.ts); shared by equal sets.
CREATE TABLE refsets (
  row INTEGER PRIMARY KEY,
  hash BLOB NOT NULL UNIQUE,
  data BLOB NOT NULL
);
CREATE TABLE snapshot_sources (
  snapshot INTEGER NOT NULL REFERENCES snapshots(row) ON DELETE CASCADE,
  source BLOB NOT NULL,
  tree BLOB NOT NULL,
  logical_size INTEGER NOT NULL,
  refset INTEGER NOT NULL REFERENCES refsets(row),
  PRIMARY KEY (snapshot, source)
) WITHOUT ROWID;
CREATE INDEX snapshot_sources_refset ON snapshot_sources(refset);
CREATE TABLE locks (
  id TEXT PRIMARY KEY,
  host TEXT NOT NULL,
  pid INTEGER NOT NULL,
  kind TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  heartbeat_at INTEGER NOT NULL
);
`;

const SQLITE: MetaDialect = {
  jsonRows: (param, alias) => `json_each(${param}) AS ${alias}`,
  jsonTuples: (param, alias) => `json_each(${param}) AS ${alias}`,
  unhex: (expr) => `unhex(${expr})`,
  jsonArray: (expr) => `json_group_array(${expr})`,
  // One file holds one repository: every row is its own.
  mine: () => '1 = 1',
  keyed: (columns) => columns,
  keyedValues: (values) => values,
};

class SqliteEngine implements MetaEngine {
  readonly dialect = SQLITE;
  readonly #db: DatabaseSync;
  readonly #statements = new Map<string, StatementSync>();
  #open = true;

  constructor(path: string, options: { busyTimeoutMs?: number }) {
    this.#db = new DatabaseSync(path, {
      timeout: options.busyTimeoutMs ?? 60_000,
      enableForeignKeyConstraints: true,
    });
    // FULL: a commit survives a power loss. A 64 MiB page cache holds the ID index of a few
    // million blobs; checkpointing every 10,000 pages (not 1,000) cuts the fsyncs of bulk indexing.
    this.#db.exec(
      'PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA cache_size = -65536; PRAGMA wal_autocheckpoint = 10000;',
    );
    this.#transaction('BEGIN IMMEDIATE', () => this.#migrate());
  }

  #migrate(): void {
    const { user_version: version } = this.#db.prepare('PRAGMA user_version').get() as {
      user_version: number;
    };
    if (version === 0) this.#db.exec(SCHEMA);
    if (version < 2) this.#db.exec(GENERATION_SCHEMA);
    if (version < 3) {
      this.#db.exec(CONDEMNED_SCHEMA);
      this.#db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
    } else if (version > SCHEMA_VERSION) {
      throw new CumulusError(
        'update_required',
        `the repository index uses schema ${version}, newer than this Cumulus`,
        {
          hint: 'update Cumulus to open this repository',
        },
      );
    }
  }

  #transaction<T>(begin: string, fn: () => T): T {
    this.#db.exec(begin);
    try {
      const result = fn();
      this.#db.exec('COMMIT');
      return result;
    } catch (error) {
      this.#db.exec('ROLLBACK');
      throw error;
    }
  }

  /** #drive runs a method body's statements one by one, handing each its result. */
  #drive<T>(work: Work<T>): T {
    let step = work.next();
    while (!step.done) {
      const { kind, sql, params } = step.value;
      let statement = this.#statements.get(sql);
      if (statement === undefined) {
        statement = this.#db.prepare(sql);
        this.#statements.set(sql, statement);
      }
      const args = (Object.keys(params).length === 0 ? [] : [params]) as unknown as [
        Record<string, SQLInputValue>,
      ];
      const result =
        kind === 'all'
          ? statement.all(...args)
          : kind === 'get'
            ? statement.get(...args)
            : Number(statement.run(...args).changes);
      step = work.next(result);
    }
    return step.value;
  }

  async write<T>(work: () => Work<T>, options: { durable?: boolean } = {}): Promise<T> {
    if (options.durable !== false) return this.#transaction('BEGIN IMMEDIATE', () => this.#drive(work()));
    this.#db.exec('PRAGMA synchronous = NORMAL');
    try {
      return this.#transaction('BEGIN IMMEDIATE', () => this.#drive(work()));
    } finally {
      this.#db.exec('PRAGMA synchronous = FULL');
    }
  }

  async read<T>(work: () => Work<T>): Promise<T> {
    return this.#transaction('BEGIN', () => this.#drive(work()));
  }

  async close(): Promise<void> {
    if (this.#open) this.#db.close();
    this.#open = false;
  }
}

export class SqliteMetaStore extends SqlMetaStore {
  /** The constructor opens (creating if needed) the database at `path` and its schema. */
  constructor(path: string, options: { busyTimeoutMs?: number } = {}) {
    super(new SqliteEngine(path, options));
  }
}
