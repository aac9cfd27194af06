/**
 * importSqliteIndex copies one repository's index from its SQLite file (an embedded
 * server's `accounts/<id>/index.sqlite`) into the shared PostgreSQL tables as one account's,
 * replacing whatever that account had there, in one transaction under the account's lock:
 * an import cut off midway leaves the account as it was, and running it again starts over.
 *
 * Rows are numbered by the shared tables, so every reference to a row is renumbered: a
 * blob's pack, a snapshot's blob, a source's reference set, and the blob rows inside each
 * reference set (decoded, mapped, re-encoded and hashed again). The account gets a new
 * generation, so a device's index cache, whose cursor counts the old rows, starts again.
 * Write locks are not copied: the server that held them is stopped.
 */
import { DatabaseSync } from 'node:sqlite';
import type pg from 'pg';
import { inTransaction } from './postgres.ts';
import { ensureSchema, lockAccount } from './postgres-meta-store.ts';
import { decodeRefset, encodeRefset, refsetHash, sortedUniqueRows } from './refset.ts';
import { newGenerationValue } from './sql-meta-store.ts';
import { SqliteMetaStore } from './sqlite-meta-store.ts';

/** ImportedIndex counts what one import wrote. */
export interface ImportedIndex {
  packs: number;
  blobs: number;
  snapshots: number;
  sources: number;
  refsets: number;
  condemnedPacks: number;
}

/** Rows per statement: bounds the arrays each statement sends. */
const BATCH = 10_000;
/** Blob rows of reference sets per statement (8 bytes each while decoded). */
const REFS_PER_STATEMENT = 2_000_000;

type Row = Record<string, unknown>;

const hex = (bytes: unknown) => Buffer.from(bytes as Uint8Array).toString('hex');

/** RowMap maps a SQLite row number to the row PostgreSQL gave the same record. */
class RowMap {
  #to = new Float64Array(1024);

  set(from: number, to: number): void {
    if (from >= this.#to.length) {
      const grown = new Float64Array(Math.max(from + 1, this.#to.length * 2));
      grown.set(this.#to);
      this.#to = grown;
    }
    this.#to[from] = to;
  }

  get(from: number): number {
    const to = from < this.#to.length ? this.#to[from] : 0;
    // Identity rows start at 1: 0 is "never copied", an index that references a missing row.
    if (to === 0) throw new Error(`the index references row ${from}, which it does not hold`);
    return to;
  }
}

/** pages reads a SQLite table in row order, `size` rows at a time. */
function* pages(db: DatabaseSync, sql: string, size = BATCH): Generator<Row[]> {
  const statement = db.prepare(`${sql} WHERE row > ? ORDER BY row LIMIT ${size}`);
  let after = -1;
  for (;;) {
    const rows = statement.all(after) as Row[];
    if (rows.length === 0) return;
    yield rows;
    after = Number(rows.at(-1)!.row);
  }
}

function* eachRow(db: DatabaseSync, sql: string, size: number): Generator<Row> {
  for (const page of pages(db, sql, size)) yield* page;
}

/**
 * insertMapped inserts one page of rows through `unnest` of one array per column and maps
 * each source row to its new row by the unique `key` column (hex) the insert returns.
 */
async function insertMapped(
  client: pg.PoolClient,
  sql: string,
  values: unknown[],
  rows: Row[],
  key: (row: Row) => string,
  map: RowMap,
): Promise<void> {
  const { rows: inserted } = await client.query<{ row: number; key: string }>(sql, values);
  const sourceRow = new Map(rows.map((r) => [key(r), Number(r.row)]));
  for (const r of inserted) map.set(sourceRow.get(r.key)!, r.row);
}

/** importSqliteIndex replaces `account`'s index in PostgreSQL with the one in the file at `path`. */
export async function importSqliteIndex(
  pool: pg.Pool,
  account: string,
  path: string,
): Promise<ImportedIndex> {
  // Opening it as a store first brings an older file's schema up to date.
  await new SqliteMetaStore(path).close();
  const source = new DatabaseSync(path, { readOnly: true });
  try {
    await ensureSchema(pool);
    return await inTransaction(pool, 'BEGIN', async (client) => {
      await lockAccount(client, account);
      return copy(client, source, account);
    });
  } finally {
    source.close();
  }
}

async function copy(client: pg.PoolClient, source: DatabaseSync, account: string): Promise<ImportedIndex> {
  for (const table of [
    'snapshot_sources',
    'snapshots',
    'refsets',
    'blobs',
    'packs',
    'condemned_packs',
    'locks',
  ]) {
    await client.query(`DELETE FROM ${table} WHERE account = $1`, [account]);
  }
  await client.query(
    'INSERT INTO generation (account, value) VALUES ($1, $2) ON CONFLICT (account) DO UPDATE SET value = excluded.value',
    [account, newGenerationValue()],
  );
  const counts: ImportedIndex = {
    packs: 0,
    blobs: 0,
    snapshots: 0,
    sources: 0,
    refsets: 0,
    condemnedPacks: 0,
  };

  const packRows = new RowMap();
  for (const rows of pages(source, 'SELECT row, id, size, created_at FROM packs')) {
    await insertMapped(
      client,
      `INSERT INTO packs (account, id, size, created_at)
        SELECT $1, decode(p.id, 'hex'), p.size, p.created_at
        FROM unnest($2::text[], $3::bigint[], $4::bigint[]) AS p(id, size, created_at)
        RETURNING row, encode(id, 'hex') AS key`,
      [account, rows.map((r) => hex(r.id)), rows.map((r) => r.size), rows.map((r) => r.created_at)],
      rows,
      (r) => hex(r.id),
      packRows,
    );
    counts.packs += rows.length;
  }

  const blobRows = new RowMap();
  for (const rows of pages(
    source,
    'SELECT row, id, type, pack, "offset", length, touched_at, ref_count FROM blobs',
  )) {
    await insertMapped(
      client,
      `INSERT INTO blobs (account, id, type, pack, "offset", length, touched_at, ref_count)
        SELECT $1, decode(b.id, 'hex'), b.type, b.pack, b.o, b.length, b.touched_at, b.ref_count
        FROM unnest($2::text[], $3::int[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[])
          AS b(id, type, pack, o, length, touched_at, ref_count)
        RETURNING row, encode(id, 'hex') AS key`,
      [
        account,
        rows.map((r) => hex(r.id)),
        rows.map((r) => r.type),
        rows.map((r) => packRows.get(Number(r.pack))),
        rows.map((r) => r.offset),
        rows.map((r) => r.length),
        rows.map((r) => r.touched_at),
        rows.map((r) => r.ref_count),
      ],
      rows,
      (r) => hex(r.id),
      blobRows,
    );
    counts.blobs += rows.length;
  }

  const snapshotRows = new RowMap();
  for (const rows of pages(source, 'SELECT row, id, time, device, blob FROM snapshots')) {
    await insertMapped(
      client,
      `INSERT INTO snapshots (account, id, time, device, blob)
        SELECT $1, decode(s.id, 'hex'), s.time, s.device, s.blob
        FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[]) AS s(id, time, device, blob)
        RETURNING row, encode(id, 'hex') AS key`,
      [
        account,
        rows.map((r) => hex(r.id)),
        rows.map((r) => r.time),
        rows.map((r) => r.device),
        rows.map((r) => blobRows.get(Number(r.blob))),
      ],
      rows,
      (r) => hex(r.id),
      snapshotRows,
    );
    counts.snapshots += rows.length;
  }

  // A reference set's bytes depend on the row numbers, so its hash is computed again. One
  // set may name millions of blobs: a statement carries sets up to REFS_PER_STATEMENT rows.
  const refsetRows = new RowMap();
  let pending: Row[] = [];
  let pendingRefs = 0;
  const flush = async () => {
    await insertMapped(
      client,
      `INSERT INTO refsets (account, hash, data)
        SELECT $1, decode(r.hash, 'hex'), r.data FROM unnest($2::text[], $3::bytea[]) AS r(hash, data)
        RETURNING row, encode(hash, 'hex') AS key`,
      [account, pending.map((r) => r.hash), pending.map((r) => r.data)],
      pending,
      (r) => r.hash as string,
      refsetRows,
    );
    counts.refsets += pending.length;
    pending = [];
    pendingRefs = 0;
  };
  for (const row of eachRow(source, 'SELECT row, data FROM refsets', 10)) {
    const blobs = decodeRefset(row.data as Uint8Array).map((b) => blobRows.get(b));
    const data = encodeRefset(sortedUniqueRows(blobs));
    pending.push({ row: row.row, data, hash: refsetHash(data).toString('hex') });
    pendingRefs += blobs.length;
    if (pendingRefs >= REFS_PER_STATEMENT) await flush();
  }
  if (pending.length > 0) await flush();

  // snapshot_sources has no row of its own (WITHOUT ROWID): paged by its key.
  const sources = source.prepare(
    `SELECT snapshot, source, tree, logical_size, refset FROM snapshot_sources
      WHERE (snapshot, source) > (?, ?) ORDER BY snapshot, source LIMIT ${BATCH}`,
  );
  for (let after: [number, Uint8Array] = [-1, new Uint8Array()]; ; ) {
    const rows = sources.all(...after) as Row[];
    if (rows.length === 0) break;
    await client.query(
      `INSERT INTO snapshot_sources (account, snapshot, source, tree, logical_size, refset)
        SELECT $1, s.snapshot, decode(s.source, 'hex'), decode(s.tree, 'hex'), s.logical_size, s.refset
        FROM unnest($2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::bigint[])
          AS s(snapshot, source, tree, logical_size, refset)`,
      [
        account,
        rows.map((r) => snapshotRows.get(Number(r.snapshot))),
        rows.map((r) => hex(r.source)),
        rows.map((r) => hex(r.tree)),
        rows.map((r) => r.logical_size),
        rows.map((r) => refsetRows.get(Number(r.refset))),
      ],
    );
    counts.sources += rows.length;
    const last = rows.at(-1)!;
    after = [Number(last.snapshot), last.source as Uint8Array];
  }

  const condemned = source.prepare('SELECT id, size, condemned_at FROM condemned_packs').all() as Row[];
  for (let i = 0; i < condemned.length; i += BATCH) {
    const rows = condemned.slice(i, i + BATCH);
    await client.query(
      `INSERT INTO condemned_packs (account, id, size, condemned_at)
        SELECT $1, decode(c.id, 'hex'), c.size, c.condemned_at
        FROM unnest($2::text[], $3::bigint[], $4::bigint[]) AS c(id, size, condemned_at)`,
      [account, rows.map((r) => hex(r.id)), rows.map((r) => r.size), rows.map((r) => r.condemned_at)],
    );
  }
  counts.condemnedPacks = condemned.length;
  return counts;
}
