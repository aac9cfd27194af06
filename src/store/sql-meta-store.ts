/**
 * SqlMetaStore is the MetaStore written once in SQL that SQLite and PostgreSQL both run:
 * every query of the index is here, and an engine (`MetaEngine`: SqliteMetaStore's file,
 * PostgresMetaStore's shared database) runs it. The few differences are the dialect's
 * fragments: how a JSON array parameter becomes rows, hex to bytes, an aggregate into a JSON
 * array, and whose rows these are (`mine`: PostgreSQL keeps every account in one set of
 * tables, keyed by account; a SQLite file holds one repository).
 *
 * Each method body is a generator of statements, run inside one transaction: SQLite runs it
 * synchronously (a transaction never waits on the event loop, so two stores of one process
 * never hold each other's lock), PostgreSQL awaits each statement on one connection.
 * Parameters are named (`:name`).
 *
 * Blob and pack IDs are stored as 32-byte BLOBs. Batches of IDs and row numbers go to the
 * database as one JSON array each, so a million references cost a few statements, not a
 * million.
 *
 * `blobs.ref_count` counts the reference sets and snapshots that name a blob. It is kept
 * in the same transactions that add or remove those, so "referenced" is `ref_count > 0`
 * without decoding any reference set.
 */
import { randomBytes } from 'node:crypto';
import { CumulusError } from '../core/errors.ts';
import { BLOB_TYPES, type BlobType, PACK_ENTRY_SIZE, PACK_TAIL_SIZE } from '../core/pack.ts';
import { computeBreakdown } from './breakdown.ts';
import type { CondemnedPack, GcPlan, IndexedPack, MetaStore, PackGarbage, PackRecord } from './meta-store.ts';
import { decodeRefset, encodeRefset, refsetHash, sortedUniqueRows } from './refset.ts';
import type {
  BlobLocation,
  IndexDelta,
  LockInfo,
  QuotaOutcome,
  SnapshotCommit,
  SnapshotRecord,
  StorageBreakdown,
  UsageReport,
} from './types.ts';

export type MetaValue = string | number | null | Uint8Array;
export type MetaParams = Record<string, MetaValue>;

/** MetaStatement is one statement a method body asks its engine to run. */
export interface MetaStatement {
  kind: 'all' | 'get' | 'run';
  sql: string;
  params: MetaParams;
}

/** Work is a method body: it yields statements and receives their results (rows, a row, or changes). */
export type Work<T> = Generator<MetaStatement, T, unknown>;

/** MetaDialect supplies the fragments in which the engines' SQL differs. */
export interface MetaDialect {
  /** jsonRows is a FROM item over the JSON array parameter `param`, its elements as `alias.value`. */
  jsonRows(param: string, alias: string): string;
  /** jsonTuples is the same over a JSON array of arrays: `alias.value ->> 0` is the first field. */
  jsonTuples(param: string, alias: string): string;
  /** unhex turns a hex text expression into bytes. */
  unhex(expr: string): string;
  /** jsonArray aggregates an expression into a JSON array (text or parsed: readJsonArray reads both). */
  jsonArray(expr: string): string;
  /** mine is the condition that a row of `alias` (or of the statement's one table) is this repository's. */
  mine(alias?: string): string;
  /** keyed prefixes a column list of a unique key (and an INSERT's columns) with the repository's key column. */
  keyed(columns: string): string;
  /** keyedValues prefixes an INSERT's values to match `keyed`. */
  keyedValues(values: string): string;
}

export interface MetaEngine {
  readonly dialect: MetaDialect;
  /**
   * write runs `work` in one transaction that holds the repository's writer lock from its
   * start. `durable: false` lets the commit skip waiting for the disk (a touch only).
   */
  write<T>(work: () => Work<T>, options?: { durable?: boolean }): Promise<T>;
  /**
   * read runs `work` in one transaction that sees one state. `oneStatement`: the work runs
   * a single statement, which sees one state by itself, so the engine may skip the
   * transaction (a round trip each way fewer on PostgreSQL).
   */
  read<T>(work: () => Work<T>, options?: { oneStatement?: boolean }): Promise<T>;
  close(): Promise<void>;
}

function* all<T>(sql: string, params: MetaParams = {}): Work<T[]> {
  return (yield { kind: 'all', sql, params }) as T[];
}

function* get<T>(sql: string, params: MetaParams = {}): Work<T | undefined> {
  return (yield { kind: 'get', sql, params }) as T | undefined;
}

function* run(sql: string, params: MetaParams = {}): Work<number> {
  return (yield { kind: 'run', sql, params }) as number;
}

/** readJsonArray reads what `MetaDialect.jsonArray` returned: JSON text, an array, or null for no rows. */
function readJsonArray<T>(value: unknown): T[] {
  if (value === null || value === undefined) return [];
  return (typeof value === 'string' ? JSON.parse(value) : value) as T[];
}

/**
 * breakdownRows lays out the referenced blobs' lengths for computeBreakdown, which indexes
 * by row: as they are when the rows are few enough up to the largest (a SQLite file's), or
 * renumbered densely when they are spread out (one account's among many in PostgreSQL).
 */
function breakdownRows(
  rows: readonly number[],
  sizes: readonly number[],
): { lengths: Float64Array; renumber?: (row: number) => number } {
  let max = 0;
  for (const row of rows) if (row > max) max = row;
  if (max < 4 * rows.length + 1024) {
    const lengths = new Float64Array(max + 1);
    for (let i = 0; i < rows.length; i++) lengths[rows[i]] = sizes[i];
    return { lengths };
  }
  const index = new Map<number, number>();
  const lengths = new Float64Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    index.set(rows[i], i);
    lengths[i] = sizes[i];
  }
  return { lengths, renumber: (row) => index.get(row)! };
}

/** MISSING_NAMED is how many of the blobs a refused commit lacks its error names (67 KB of JSON). */
export const MISSING_NAMED = 1000;

/** IDs per statement: bounds the JSON each statement parses. */
const BATCH = 50_000;

const hex = (bytes: Uint8Array) =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
const bin = (id: string) => Buffer.from(id, 'hex');

/** newGenerationValue is a fresh index generation: 16 random bytes as hex. */
export const newGenerationValue = (): string => randomBytes(16).toString('hex');

function batches<T>(items: readonly T[], size = BATCH): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

interface LocationRow {
  id: Uint8Array;
  type: number;
  pack: Uint8Array;
  offset: number;
  length: number;
}

const LOCATION_COLUMNS = 'b.id, b.type, p.id AS pack, b."offset" AS "offset", b.length';

function toLocation(row: LocationRow): BlobLocation {
  return {
    id: hex(row.id),
    type: BLOB_TYPES[row.type],
    packId: hex(row.pack),
    offset: row.offset,
    length: row.length,
  };
}

/** The option of a read that runs one statement (MetaEngine.read). */
const ONE_STATEMENT = { oneStatement: true };

/** Blobs touched at `now`: a touch never moves a blob's time backwards. */
const TOUCHED = 'touched_at = CASE WHEN touched_at < :now THEN :now ELSE touched_at END';

export class SqlMetaStore implements MetaStore {
  readonly #engine: MetaEngine;
  readonly #d: MetaDialect;

  constructor(engine: MetaEngine) {
    this.#engine = engine;
    this.#d = engine.dialect;
  }

  indexPacks(packs: readonly IndexedPack[], now: number): Promise<{ newBlobs: number }> {
    const d = this.#d;
    const insertPack = `INSERT INTO packs (${d.keyed('id, size, created_at')}) VALUES (${d.keyedValues(':id, :size, :now')})
      ON CONFLICT (${d.keyed('id')}) DO NOTHING RETURNING row`;
    // `WHERE true` lets SQLite parse ON CONFLICT after a SELECT.
    const insertBlobs = `
      INSERT INTO blobs (${d.keyed('id, type, pack, "offset", length, touched_at')})
      SELECT ${d.keyedValues(`${d.unhex('e.value ->> 0')}, CAST(e.value ->> 1 AS INTEGER), CAST(:pack AS BIGINT),
        CAST(e.value ->> 2 AS BIGINT), CAST(e.value ->> 3 AS BIGINT), CAST(:now AS BIGINT)`)}
      FROM ${d.jsonTuples(':entries', 'e')} WHERE true
      ON CONFLICT (${d.keyed('id')}) DO NOTHING`;
    const touchDuplicates = `
      UPDATE blobs SET ${TOUCHED}
      WHERE ${d.mine()} AND id IN (SELECT ${d.unhex('e.value ->> 0')} FROM ${d.jsonTuples(':entries', 'e')}) AND pack != :pack`;
    return this.#engine.write(function* () {
      let newBlobs = 0;
      for (const pack of packs) {
        const inserted = yield* get<{ row: number }>(insertPack, { id: bin(pack.id), size: pack.size, now });
        if (inserted === undefined) continue;
        const entries = JSON.stringify(
          pack.entries.map((e) => [e.id, BLOB_TYPES.indexOf(e.type), e.offset, e.length]),
        );
        const added = yield* run(insertBlobs, { pack: inserted.row, now, entries });
        if (added < pack.entries.length) yield* run(touchDuplicates, { pack: inserted.row, now, entries });
        newBlobs += added;
      }
      return { newBlobs };
    });
  }

  hasPack(id: string): Promise<boolean> {
    const sql = `SELECT 1 AS found FROM packs WHERE ${this.#d.mine()} AND id = :id`;
    return this.#engine.read(function* () {
      return (yield* get(sql, { id: bin(id) })) !== undefined;
    }, ONE_STATEMENT);
  }

  listPacks(): Promise<PackRecord[]> {
    const sql = `SELECT id, size, created_at FROM packs WHERE ${this.#d.mine()}`;
    return this.#engine.read(function* () {
      const packs = yield* all<{ id: Uint8Array; size: number; created_at: number }>(sql);
      return packs.map((p) => ({ id: hex(p.id), size: p.size, createdAt: p.created_at }));
    }, ONE_STATEMENT);
  }

  packContents(packId: string): Promise<BlobLocation[]> {
    const sql = `SELECT ${LOCATION_COLUMNS} FROM blobs b JOIN packs p ON p.row = b.pack
      WHERE ${this.#d.mine('p')} AND p.id = :id ORDER BY b."offset"`;
    return this.#engine.read(function* () {
      return (yield* all<LocationRow>(sql, { id: bin(packId) })).map(toLocation);
    }, ONE_STATEMENT);
  }

  async touchBlobs(ids: readonly string[], now: number): Promise<Set<string>> {
    const d = this.#d;
    const touch = `UPDATE blobs SET ${TOUCHED}
      WHERE ${d.mine()} AND id IN (SELECT ${d.unhex('j.value')} FROM ${d.jsonRows(':ids', 'j')}) RETURNING id`;
    const present = new Set<string>();
    // A touch guards a running writer against gc; if power fails, that writer is gone too,
    // so the touch needs no wait for the disk. Without this every tree a backup checks costs one.
    for (const batch of batches(ids)) {
      await this.#engine.write(
        function* () {
          for (const row of yield* all<{ id: Uint8Array }>(touch, { now, ids: JSON.stringify(batch) }))
            present.add(hex(row.id));
        },
        { durable: false },
      );
    }
    return present;
  }

  locateBlobs(ids: readonly string[]): Promise<BlobLocation[]> {
    const d = this.#d;
    const locate = `
      SELECT ${LOCATION_COLUMNS} FROM blobs b JOIN packs p ON p.row = b.pack
      WHERE ${d.mine('b')} AND b.id IN (SELECT ${d.unhex('j.value')} FROM ${d.jsonRows(':ids', 'j')})`;
    return this.#engine.read(function* () {
      const found: BlobLocation[] = [];
      for (const batch of batches(ids))
        for (const row of yield* all<LocationRow>(locate, { ids: JSON.stringify(batch) }))
          found.push(toLocation(row));
      return found;
    });
  }

  listBlobIds(type: BlobType): Promise<string[]> {
    const sql = `SELECT id FROM blobs WHERE ${this.#d.mine()} AND type = :type`;
    return this.#engine.read(function* () {
      return (yield* all<{ id: Uint8Array }>(sql, { type: BLOB_TYPES.indexOf(type) })).map((r) => hex(r.id));
    }, ONE_STATEMENT);
  }

  /** #resolve maps blob IDs to sorted, unique row numbers, or throws 'blob_missing'. */
  *#resolve(ids: readonly string[]): Work<number[]> {
    const d = this.#d;
    const resolve = `SELECT count(*) AS found, ${d.jsonArray('b.row')} AS rows
      FROM ${d.jsonRows(':ids', 'j')} JOIN blobs b ON b.id = ${d.unhex('j.value')} AND ${d.mine('b')}`;
    const rows: number[] = [];
    let complete = true;
    for (const batch of batches(ids)) {
      const result = (yield* get<{ found: number; rows: unknown }>(resolve, { ids: JSON.stringify(batch) }))!;
      if (result.found !== batch.length) complete = false;
      for (const row of readJsonArray<number>(result.rows)) rows.push(row);
    }
    if (!complete) yield* this.#throwMissing(ids);
    return sortedUniqueRows(rows);
  }

  *#throwMissing(ids: readonly string[]): Work<never> {
    const d = this.#d;
    const missing = `SELECT j.value AS id FROM ${d.jsonRows(':ids', 'j')}
      WHERE NOT EXISTS (SELECT 1 FROM blobs b WHERE ${d.mine('b')} AND b.id = ${d.unhex('j.value')})`;
    const found = new Set<string>();
    for (const batch of batches(ids))
      for (const row of yield* all<{ id: string }>(missing, { ids: JSON.stringify(batch) }))
        found.add(row.id);
    // The client drops the IDs named from its cache of the index (more: it rebuilds it).
    const some = [...found].slice(0, MISSING_NAMED);
    throw new CumulusError(
      'blob_missing',
      `the snapshot references ${found.size} blob(s) the repository does not hold`,
      {
        hint: 'run the backup again: it uploads what is missing',
        details: { count: found.size, ids: some },
      },
    );
  }

  /** #rowsIn is the condition that `column` is one of the row numbers in JSON parameter :rows. */
  #rowsIn(column: string): string {
    return `${column} IN (SELECT CAST(r.value AS BIGINT) FROM ${this.#d.jsonRows(':rows', 'r')})`;
  }

  /** #reference adds one to the ref_count of each row. */
  *#reference(rows: readonly number[]): Work<void> {
    const increment = `UPDATE blobs SET ref_count = ref_count + 1 WHERE ${this.#rowsIn('row')}`;
    for (const batch of batches(rows)) yield* run(increment, { rows: JSON.stringify(batch) });
  }

  /** #release takes one from the ref_count of each row and returns the bytes no longer referenced. */
  *#release(rows: readonly number[]): Work<number> {
    const decrement = `UPDATE blobs SET ref_count = ref_count - 1 WHERE ${this.#rowsIn('row')} RETURNING ref_count, length`;
    let freed = 0;
    for (const batch of batches(rows)) {
      for (const row of yield* all<{ ref_count: number; length: number }>(decrement, {
        rows: JSON.stringify(batch),
      })) {
        if (row.ref_count === 0) freed += row.length;
      }
    }
    return freed;
  }

  commitSnapshot(
    commit: SnapshotCommit,
    maxReferencedBytes: number | undefined,
  ): Promise<QuotaOutcome | undefined> {
    const d = this.#d;
    const store = this;
    const known = `SELECT 1 AS found FROM snapshots WHERE ${d.mine()} AND id = :id`;
    const findRefset = `SELECT row FROM refsets WHERE ${d.mine()} AND hash = :hash`;
    const unreferencedBytes = `SELECT coalesce(sum(length), 0) AS bytes FROM blobs WHERE ref_count = 0 AND ${this.#rowsIn('row')}`;
    const referencedBytes = `SELECT coalesce(sum(length), 0) AS bytes FROM blobs WHERE ${d.mine()} AND ref_count > 0`;
    const insertRefset = `INSERT INTO refsets (${d.keyed('hash, data')}) VALUES (${d.keyedValues(':hash, :data')}) RETURNING row`;
    const insertSnapshot = `INSERT INTO snapshots (${d.keyed('id, time, device, blob')})
      VALUES (${d.keyedValues(':id, :time, :device, :blob')}) RETURNING row`;
    const insertSource = `INSERT INTO snapshot_sources (${d.keyed('snapshot, source, tree, logical_size, refset')})
      VALUES (${d.keyedValues(':snapshot, :source, :tree, :size, :refset')})`;
    return this.#engine.write(function* () {
      if ((yield* get(known, { id: bin(commit.id) })) !== undefined) {
        if (maxReferencedBytes === undefined) return undefined;
        return { referencedBytes: (yield* get<{ bytes: number }>(referencedBytes))!.bytes, addedBytes: 0 };
      }
      const [snapshotBlob] = yield* store.#resolve([commit.id]);
      const fresh = new Map<string, { hash: Buffer; data: Buffer; rows: number[] }>();
      const sources: { source: SnapshotCommit['sources'][number]; hash: Buffer; known?: number }[] = [];
      for (const source of commit.sources) {
        const rows = yield* store.#resolve(source.refs);
        const data = encodeRefset(rows);
        const hash = refsetHash(data);
        const found = yield* get<{ row: number }>(findRefset, { hash });
        if (found === undefined) fresh.set(hash.toString('hex'), { hash, data, rows });
        sources.push({ source, hash, known: found?.row });
      }

      let outcome: QuotaOutcome | undefined;
      if (maxReferencedBytes !== undefined) {
        const newly = sortedUniqueRows([snapshotBlob, ...[...fresh.values()].flatMap((f) => f.rows)]);
        let needed = 0;
        for (const batch of batches(newly))
          needed += (yield* get<{ bytes: number }>(unreferencedBytes, { rows: JSON.stringify(batch) }))!
            .bytes;
        const usage = (yield* get<{ bytes: number }>(referencedBytes))!.bytes;
        if (usage + needed > maxReferencedBytes) {
          const shortfall = usage + needed - maxReferencedBytes;
          throw new CumulusError(
            'quota_exceeded',
            `the snapshot needs ${needed} more bytes than the ${maxReferencedBytes}-byte quota allows (${shortfall} short)`,
            {
              hint: 'delete old snapshots or a source you no longer need, exclude large files, or move to a larger plan',
              details: { usage, quota: maxReferencedBytes, needed, shortfall },
            },
          );
        }
        // The rows counted in `needed` are the only ones this commit takes from 0 references.
        outcome = { referencedBytes: usage + needed, addedBytes: needed };
      }

      const refsetRows = new Map<string, number>();
      for (const [key, set] of fresh) {
        refsetRows.set(
          key,
          (yield* get<{ row: number }>(insertRefset, { hash: set.hash, data: set.data }))!.row,
        );
        yield* store.#reference(set.rows);
      }
      yield* store.#reference([snapshotBlob]);
      const { row: snapshotRow } = (yield* get<{ row: number }>(insertSnapshot, {
        id: bin(commit.id),
        time: commit.time,
        device: commit.device ?? '',
        blob: snapshotBlob,
      }))!;
      for (const { source, hash, known } of sources) {
        yield* run(insertSource, {
          snapshot: snapshotRow,
          source: bin(source.id),
          tree: bin(source.tree),
          size: source.logicalSize,
          refset: known ?? refsetRows.get(hash.toString('hex'))!,
        });
      }
      return outcome;
    });
  }

  listSnapshots(): Promise<SnapshotRecord[]> {
    const d = this.#d;
    const listed = `SELECT row, id, time, device FROM snapshots WHERE ${d.mine()} ORDER BY time, id`;
    const sourcesOf = `SELECT snapshot, source, tree, logical_size FROM snapshot_sources WHERE ${d.mine()} ORDER BY snapshot, source`;
    return this.#engine.read(function* () {
      const snapshots = new Map<number, SnapshotRecord>();
      for (const s of yield* all<{ row: number; id: Uint8Array; time: string; device: string }>(listed)) {
        snapshots.set(s.row, { id: hex(s.id), time: s.time, device: s.device, sources: [] });
      }
      for (const s of yield* all<{
        snapshot: number;
        source: Uint8Array;
        tree: Uint8Array;
        logical_size: number;
      }>(sourcesOf)) {
        snapshots
          .get(s.snapshot)
          ?.sources.push({ id: hex(s.source), tree: hex(s.tree), logicalSize: s.logical_size });
      }
      return [...snapshots.values()];
    });
  }

  /**
   * #removeSnapshots deletes snapshot rows (their sources go with them), then releases the
   * reference sets no snapshot uses any more. Runs inside a write transaction.
   */
  *#removeSnapshots(rows: readonly number[], refsets: Iterable<number>): Work<number> {
    let freed = 0;
    for (const row of rows) {
      const removed = yield* get<{ blob: number }>('DELETE FROM snapshots WHERE row = :row RETURNING blob', {
        row,
      });
      if (removed !== undefined) freed += yield* this.#release([removed.blob]);
    }
    for (const refset of new Set(refsets)) {
      if (
        (yield* get('SELECT 1 AS used FROM snapshot_sources WHERE refset = :refset LIMIT 1', { refset })) !==
        undefined
      )
        continue;
      const removed = yield* get<{ data: Uint8Array }>(
        'DELETE FROM refsets WHERE row = :refset RETURNING data',
        {
          refset,
        },
      );
      if (removed !== undefined) freed += yield* this.#release(decodeRefset(removed.data));
    }
    return freed;
  }

  deleteSnapshots(ids: readonly string[]): Promise<{ freedBytes: number }> {
    const store = this;
    const find = `SELECT row FROM snapshots WHERE ${this.#d.mine()} AND id = :id`;
    return this.#engine.write(function* () {
      const rows: number[] = [];
      const refsets: number[] = [];
      for (const id of ids) {
        const found = yield* get<{ row: number }>(find, { id: bin(id) });
        if (found === undefined) continue;
        rows.push(found.row);
        for (const r of yield* all<{ refset: number }>(
          'SELECT refset FROM snapshot_sources WHERE snapshot = :row',
          {
            row: found.row,
          },
        ))
          refsets.push(r.refset);
      }
      return { freedBytes: yield* store.#removeSnapshots(rows, refsets) };
    });
  }

  deleteSources(
    device: string,
    sourceId?: string,
  ): Promise<{ freedBytes: number; removedSnapshots: string[] }> {
    const d = this.#d;
    const store = this;
    const remove = `DELETE FROM snapshot_sources WHERE snapshot IN (SELECT row FROM snapshots WHERE ${d.mine()} AND device = :device)
      ${sourceId === undefined ? '' : 'AND source = :source'} RETURNING snapshot, refset`;
    const ofDevice = `SELECT row, id FROM snapshots WHERE ${d.mine()} AND device = :device`;
    const leftEmpty = `SELECT row, id FROM snapshots WHERE ${this.#rowsIn('row')}
      AND NOT EXISTS (SELECT 1 FROM snapshot_sources s WHERE s.snapshot = snapshots.row)`;
    return this.#engine.write(function* () {
      const deleted = yield* all<{ snapshot: number; refset: number }>(
        remove,
        sourceId === undefined ? { device } : { device, source: bin(sourceId) },
      );
      const touched = [...new Set(deleted.map((r) => r.snapshot))];
      const emptied =
        sourceId === undefined
          ? yield* all<{ row: number; id: Uint8Array }>(ofDevice, { device })
          : yield* all<{ row: number; id: Uint8Array }>(leftEmpty, { rows: JSON.stringify(touched) });
      const freedBytes = yield* store.#removeSnapshots(
        emptied.map((s) => s.row),
        deleted.map((r) => r.refset),
      );
      return { freedBytes, removedSnapshots: emptied.map((s) => hex(s.id)) };
    });
  }

  usage(): Promise<UsageReport> {
    const d = this.#d;
    const sql = `SELECT
        (SELECT coalesce(sum(length), 0) FROM blobs WHERE ${d.mine()} AND ref_count > 0) AS "referencedBytes",
        (SELECT coalesce(sum(size), 0) FROM packs WHERE ${d.mine()}) AS "totalPackBytes",
        (SELECT coalesce(sum(logical_size), 0) FROM snapshot_sources WHERE ${d.mine()}) AS "logicalBytes",
        (SELECT count(*) FROM packs WHERE ${d.mine()}) AS packs,
        (SELECT count(*) FROM blobs WHERE ${d.mine()}) AS blobs,
        (SELECT count(*) FROM blobs WHERE ${d.mine()} AND ref_count > 0) AS "referencedBlobs",
        (SELECT count(*) FROM snapshots WHERE ${d.mine()}) AS snapshots`;
    return this.#engine.read(function* () {
      return { ...(yield* get<UsageReport>(sql))! };
    }, ONE_STATEMENT);
  }

  storageBreakdown(): Promise<StorageBreakdown> {
    const d = this.#d;
    const referencedSql = `SELECT ${d.jsonArray('row')} AS rows, ${d.jsonArray('length')} AS lengths
      FROM blobs WHERE ${d.mine()} AND ref_count > 0`;
    const refsetsSql = `SELECT row, data FROM refsets WHERE ${d.mine()}`;
    const snapshotsSql = `SELECT row, device, time, blob FROM snapshots WHERE ${d.mine()}`;
    const sourcesSql = `SELECT snapshot, source, logical_size, refset FROM snapshot_sources WHERE ${d.mine()}`;
    return this.#engine.read(function* () {
      const referenced = (yield* get<{ rows: unknown; lengths: unknown }>(referencedSql))!;
      const rows = readJsonArray<number>(referenced.rows);
      const sizes = readJsonArray<number>(referenced.lengths);
      const { lengths, renumber } = breakdownRows(rows, sizes);
      const dense = renumber ?? ((row: number) => row);
      const refsets = new Map(
        (yield* all<{ row: number; data: Uint8Array }>(refsetsSql)).map((r) => [r.row, r.data]),
      );
      const snapshots = yield* all<{ row: number; device: string; time: string; blob: number }>(snapshotsSql);
      const sources = yield* all<{
        snapshot: number;
        source: Uint8Array;
        logical_size: number;
        refset: number;
      }>(sourcesSql);
      return computeBreakdown({
        snapshots: snapshots.map((s) => ({
          row: s.row,
          device: s.device,
          time: s.time,
          blobRow: dense(s.blob),
        })),
        sources: sources.map((s) => ({
          snapshotRow: s.snapshot,
          sourceId: hex(s.source),
          logicalSize: s.logical_size,
          refset: s.refset,
        })),
        refsetRows: (refset) => {
          const decoded = decodeRefset(refsets.get(refset)!);
          return renumber === undefined ? decoded : decoded.map(renumber);
        },
        lengths,
      });
    });
  }

  addLock(lock: LockInfo): Promise<void> {
    const store = this;
    return this.#engine.write(function* () {
      yield* store.#insertLock(lock);
    });
  }

  *#insertLock(lock: LockInfo): Work<void> {
    const d = this.#d;
    const sql = `INSERT INTO locks (${d.keyed('id, host, pid, kind, started_at, heartbeat_at')})
      VALUES (${d.keyedValues(':id, :host, :pid, :kind, :started, :heartbeat')})`;
    yield* run(sql, {
      id: lock.id,
      host: lock.host,
      pid: lock.pid,
      kind: lock.kind,
      started: lock.startedAt,
      heartbeat: lock.heartbeatAt,
    });
  }

  claimLock(lock: LockInfo, stale: readonly LockInfo[]): Promise<boolean> {
    const d = this.#d;
    const store = this;
    const removeStale = `DELETE FROM locks WHERE ${d.mine()} AND id = :id AND kind = :kind AND heartbeat_at = :heartbeat`;
    const held = `SELECT 1 AS held FROM locks WHERE ${d.mine()} AND kind = :kind LIMIT 1`;
    return this.#engine.write(function* () {
      for (const old of stale)
        yield* run(removeStale, { id: old.id, kind: lock.kind, heartbeat: old.heartbeatAt });
      if ((yield* get(held, { kind: lock.kind })) !== undefined) return false;
      yield* store.#insertLock(lock);
      return true;
    });
  }

  heartbeatLock(id: string, now: number): Promise<void> {
    const sql = `UPDATE locks SET heartbeat_at = :now WHERE ${this.#d.mine()} AND id = :id`;
    return this.#engine.write(function* () {
      yield* run(sql, { now, id });
    });
  }

  removeLock(id: string): Promise<void> {
    const sql = `DELETE FROM locks WHERE ${this.#d.mine()} AND id = :id`;
    return this.#engine.write(function* () {
      yield* run(sql, { id });
    });
  }

  listLocks(): Promise<LockInfo[]> {
    const sql = `SELECT id, host, pid, kind, started_at, heartbeat_at FROM locks WHERE ${this.#d.mine()} ORDER BY started_at`;
    return this.#engine.read(function* () {
      return (yield* all<{
        id: string;
        host: string;
        pid: number;
        kind: LockInfo['kind'];
        started_at: number;
        heartbeat_at: number;
      }>(sql)).map((l) => ({
        id: l.id,
        host: l.host,
        pid: l.pid,
        kind: l.kind,
        startedAt: l.started_at,
        heartbeatAt: l.heartbeat_at,
      }));
    }, ONE_STATEMENT);
  }

  gcPlan(cutoff: number, repackThreshold: number): Promise<GcPlan> {
    const d = this.#d;
    const countsSql = `SELECT count(*) AS unreferenced, count(*) FILTER (WHERE touched_at >= :cutoff) AS young
      FROM blobs WHERE ${d.mine()} AND ref_count = 0`;
    const garbage = 'b.ref_count = 0 AND b.touched_at < :cutoff';
    const garbageCount = `count(b.row) FILTER (WHERE ${garbage})`;
    const packsSql = `SELECT p.row, p.id, p.size, p.created_at,
        coalesce(sum(b.length) FILTER (WHERE NOT (${garbage})), 0) AS live_bytes,
        ${garbageCount} AS garbage
      FROM packs p LEFT JOIN blobs b ON b.pack = p.row
      WHERE ${d.mine('p')}
      GROUP BY p.row
      HAVING ${garbageCount} > 0 OR count(b.row) = 0
        OR p.size - coalesce(sum(b.length), 0) - count(b.row) * :entry - :tail >= CAST(:threshold AS DOUBLE PRECISION) * p.size`;
    const liveSql = `SELECT ${LOCATION_COLUMNS} FROM blobs b JOIN packs p ON p.row = b.pack
      WHERE b.pack = :pack AND NOT (${garbage}) ORDER BY b."offset"`;
    return this.#engine.read(function* () {
      const counts = (yield* get<{ unreferenced: number; young: number }>(countsSql, { cutoff }))!;
      const packs = yield* all<{
        row: number;
        id: Uint8Array;
        size: number;
        created_at: number;
        live_bytes: number;
        garbage: number;
      }>(packsSql, { cutoff, threshold: repackThreshold, entry: PACK_ENTRY_SIZE, tail: PACK_TAIL_SIZE });
      const result: PackGarbage[] = [];
      for (const p of packs) {
        result.push({
          pack: { id: hex(p.id), size: p.size, createdAt: p.created_at },
          liveBytes: p.live_bytes,
          garbageBlobs: p.garbage,
          live: (yield* all<LocationRow>(liveSql, { pack: p.row, cutoff })).map(toLocation),
        });
      }
      return { packs: result, unreferencedBlobs: counts.unreferenced, keptYoungBlobs: counts.young };
    });
  }

  *#deleteGarbage(packRow: number, cutoff: number): Work<number> {
    const deleted = yield* run(
      'DELETE FROM blobs WHERE pack = :pack AND ref_count = 0 AND touched_at < :cutoff',
      {
        pack: packRow,
        cutoff,
      },
    );
    if (deleted > 0) yield* this.#newGeneration();
    return deleted;
  }

  /** #newGeneration voids every client's cursor: a blob left the index (call inside the write). */
  *#newGeneration(): Work<void> {
    yield* run(`UPDATE generation SET value = :value WHERE ${this.#d.mine()}`, {
      value: newGenerationValue(),
    });
  }

  blobsSince(cursor: number, limit: number): Promise<IndexDelta> {
    const d = this.#d;
    const generationSql = `SELECT value FROM generation WHERE ${d.mine()}`;
    const since = `SELECT row, id FROM blobs WHERE ${d.mine()} AND row > :cursor ORDER BY row LIMIT :limit`;
    return this.#engine.read(function* () {
      const { value: generation } = (yield* get<{ value: string }>(generationSql))!;
      const rows = yield* all<{ row: number; id: Uint8Array }>(since, { cursor, limit: limit + 1 });
      const complete = rows.length <= limit;
      if (!complete) rows.length = limit;
      return {
        generation,
        cursor: rows.at(-1)?.row ?? cursor,
        ids: rows.map((r) => hex(r.id)),
        complete,
      };
    });
  }

  dropPacks(
    packIds: readonly string[],
    cutoff: number,
  ): Promise<{ deletedPacks: string[]; deletedBlobs: number }> {
    const store = this;
    const find = `SELECT row FROM packs WHERE ${this.#d.mine()} AND id = :id`;
    const drop =
      'DELETE FROM packs WHERE row = :row AND NOT EXISTS (SELECT 1 FROM blobs WHERE pack = packs.row)';
    return this.#engine.write(function* () {
      const deletedPacks: string[] = [];
      let deletedBlobs = 0;
      for (const id of packIds) {
        const pack = yield* get<{ row: number }>(find, { id: bin(id) });
        if (pack === undefined) continue;
        deletedBlobs += yield* store.#deleteGarbage(pack.row, cutoff);
        if ((yield* run(drop, { row: pack.row })) === 1) deletedPacks.push(id);
      }
      return { deletedPacks, deletedBlobs };
    });
  }

  async repointPack(
    oldId: string,
    fresh: IndexedPack,
    cutoff: number,
    now: number,
  ): Promise<{ ok: boolean; deletedBlobs: number }> {
    const d = this.#d;
    const store = this;
    const abandon = new Error('repack abandoned: a blob of the old pack came back to life');
    const find = `SELECT row FROM packs WHERE ${d.mine()} AND id = :id`;
    const upsert = `INSERT INTO packs (${d.keyed('id, size, created_at')}) VALUES (${d.keyedValues(':id, :size, :now')})
      ON CONFLICT (${d.keyed('id')}) DO UPDATE SET size = excluded.size RETURNING row`;
    const repoint = `UPDATE blobs SET pack = :fresh, "offset" = CAST(e.value ->> 1 AS BIGINT)
      FROM ${d.jsonTuples(':entries', 'e')} WHERE blobs.id = ${d.unhex('e.value ->> 0')} AND blobs.pack = :old`;
    try {
      return await this.#engine.write(function* () {
        const old = yield* get<{ row: number }>(find, { id: bin(oldId) });
        if (old === undefined) throw abandon;
        const { row: freshRow } = (yield* get<{ row: number }>(upsert, {
          id: bin(fresh.id),
          size: fresh.size,
          now,
        }))!;
        yield* run(repoint, {
          fresh: freshRow,
          old: old.row,
          entries: JSON.stringify(fresh.entries.map((e) => [e.id, e.offset])),
        });
        const deletedBlobs = yield* store.#deleteGarbage(old.row, cutoff);
        if (
          (yield* get('SELECT 1 AS remaining FROM blobs WHERE pack = :pack LIMIT 1', { pack: old.row })) !==
          undefined
        )
          throw abandon;
        yield* run('DELETE FROM packs WHERE row = :row', { row: old.row });
        return { ok: true, deletedBlobs };
      });
    } catch (error) {
      if (error === abandon) return { ok: false, deletedBlobs: 0 };
      throw error;
    }
  }

  async condemnPacks(packs: readonly { id: string; size: number }[], now: number): Promise<void> {
    if (packs.length === 0) return;
    const d = this.#d;
    const condemn = `INSERT INTO condemned_packs (${d.keyed('id, size, condemned_at')}) VALUES (${d.keyedValues(':id, :size, :now')})
      ON CONFLICT (${d.keyed('id')}) DO UPDATE SET condemned_at = excluded.condemned_at`;
    await this.#engine.write(function* () {
      for (const pack of packs) yield* run(condemn, { id: bin(pack.id), size: pack.size, now });
    });
  }

  condemnedPacks(): Promise<CondemnedPack[]> {
    const sql = `SELECT id, size, condemned_at FROM condemned_packs WHERE ${this.#d.mine()} ORDER BY condemned_at`;
    return this.#engine.read(function* () {
      return (yield* all<{ id: Uint8Array; size: number; condemned_at: number }>(sql)).map((p) => ({
        id: hex(p.id),
        size: p.size,
        condemnedAt: p.condemned_at,
      }));
    }, ONE_STATEMENT);
  }

  async forgetCondemned(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    const forget = `DELETE FROM condemned_packs WHERE ${this.#d.mine()} AND id = :id`;
    await this.#engine.write(function* () {
      for (const id of ids) yield* run(forget, { id: bin(id) });
    });
  }

  resetIndex(): Promise<void> {
    const d = this.#d;
    const store = this;
    return this.#engine.write(function* () {
      for (const table of ['snapshot_sources', 'snapshots', 'refsets', 'blobs', 'packs'])
        yield* run(`DELETE FROM ${table} WHERE ${d.mine()}`);
      yield* store.#newGeneration();
    });
  }

  close(): Promise<void> {
    return this.#engine.close();
  }
}
