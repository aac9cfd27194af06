/**
 * SqliteMetaStore implements MetaStore on one SQLite file (node:sqlite) in WAL mode, so a
 * local repository and a small server need nothing else. Several processes may open the
 * same file: every write is one `BEGIN IMMEDIATE` transaction, and `busy_timeout` makes a
 * second writer wait instead of failing.
 *
 * Blob and pack IDs are stored as 32-byte BLOBs. Batches of IDs and row numbers go to
 * SQLite as one JSON array each (`json_each`), so a million references cost a few
 * statements, not a million.
 *
 * `blobs.ref_count` counts the reference sets and snapshots that name a blob. It is kept
 * in the same transactions that add or remove those, so "referenced" is `ref_count > 0`
 * without decoding any reference set.
 */
import { DatabaseSync, type SQLInputValue } from 'node:sqlite';
import { CumulusError } from '../core/errors.ts';
import { BLOB_TYPES, type BlobType, PACK_ENTRY_SIZE, PACK_TAIL_SIZE } from '../core/pack.ts';
import { computeBreakdown } from './breakdown.ts';
import type { CondemnedPack, GcPlan, IndexedPack, MetaStore, PackGarbage, PackRecord } from './meta-store.ts';
import { decodeRefset, encodeRefset, refsetHash, sortedUniqueRows } from './refset.ts';
import type {
  BlobLocation,
  IndexDelta,
  LockInfo,
  SnapshotCommit,
  SnapshotRecord,
  StorageBreakdown,
  UsageReport,
} from './types.ts';

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

/** MISSING_NAMED is how many of the blobs a refused commit lacks its error names (67 KB of JSON). */
export const MISSING_NAMED = 1000;

/** IDs per statement: bounds the JSON each statement parses. */
const BATCH = 50_000;

const hex = (bytes: Uint8Array) =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
const bin = (id: string) => Buffer.from(id, 'hex');

function batches<T>(items: readonly T[], size = BATCH): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Parameters are positional values, or one object of named values. */
type Parameters = SQLInputValue[] | [Record<string, SQLInputValue>];

interface LocationRow {
  id: Uint8Array;
  type: number;
  pack: Uint8Array;
  offset: number;
  length: number;
}

const LOCATION_COLUMNS = 'b.id, b.type, p.id AS pack, b.offset, b.length';

function toLocation(row: LocationRow): BlobLocation {
  return {
    id: hex(row.id),
    type: BLOB_TYPES[row.type],
    packId: hex(row.pack),
    offset: row.offset,
    length: row.length,
  };
}

export class SqliteMetaStore implements MetaStore {
  readonly #db: DatabaseSync;
  #open = true;

  /** The constructor opens (creating if needed) the database at `path` and its schema. */
  constructor(path: string, options: { busyTimeoutMs?: number } = {}) {
    this.#db = new DatabaseSync(path, {
      timeout: options.busyTimeoutMs ?? 60_000,
      enableForeignKeyConstraints: true,
    });
    // FULL: a commit survives a power loss. A 64 MiB page cache holds the ID index of a few
    // million blobs; checkpointing every 10,000 pages (not 1,000) cuts the fsyncs of bulk indexing.
    this.#db.exec(
      'PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA cache_size = -65536; PRAGMA wal_autocheckpoint = 10000;',
    );
    this.#write(() => {
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
    });
  }

  /** #write runs fn in one immediate transaction: it holds the write lock from the start. */
  #write<T>(fn: () => T): T {
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      const result = fn();
      this.#db.exec('COMMIT');
      return result;
    } catch (error) {
      this.#db.exec('ROLLBACK');
      throw error;
    }
  }

  /** #read runs fn in one transaction so that its several statements see one state. */
  #read<T>(fn: () => T): T {
    this.#db.exec('BEGIN');
    try {
      return fn();
    } finally {
      this.#db.exec('COMMIT');
    }
  }

  #get<T>(sql: string, ...params: Parameters): T {
    return this.#db.prepare(sql).get(...(params as SQLInputValue[])) as T;
  }

  #all<T>(sql: string, ...params: Parameters): T[] {
    return this.#db.prepare(sql).all(...(params as SQLInputValue[])) as T[];
  }

  async indexPacks(packs: readonly IndexedPack[], now: number): Promise<{ newBlobs: number }> {
    const insertPack = this.#db.prepare(
      'INSERT INTO packs (id, size, created_at) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING RETURNING row',
    );
    // `WHERE true` lets SQLite parse ON CONFLICT after a SELECT.
    const insertBlobs = this.#db.prepare(`
      INSERT INTO blobs (id, type, pack, offset, length, touched_at)
      SELECT unhex(value ->> 0), value ->> 1, :pack, value ->> 2, value ->> 3, :now FROM json_each(:entries) WHERE true
      ON CONFLICT (id) DO NOTHING`);
    const touchDuplicates = this.#db.prepare(`
      UPDATE blobs SET touched_at = max(touched_at, :now)
      WHERE id IN (SELECT unhex(value ->> 0) FROM json_each(:entries)) AND pack != :pack`);
    return this.#write(() => {
      let newBlobs = 0;
      for (const pack of packs) {
        const inserted = insertPack.get(bin(pack.id), pack.size, now) as { row: number } | undefined;
        if (inserted === undefined) continue;
        const entries = JSON.stringify(
          pack.entries.map((e) => [e.id, BLOB_TYPES.indexOf(e.type), e.offset, e.length]),
        );
        const added = Number(insertBlobs.run({ pack: inserted.row, now, entries }).changes);
        if (added < pack.entries.length) touchDuplicates.run({ pack: inserted.row, now, entries });
        newBlobs += added;
      }
      return { newBlobs };
    });
  }

  async hasPack(id: string): Promise<boolean> {
    return this.#get('SELECT 1 AS found FROM packs WHERE id = ?', bin(id)) !== undefined;
  }

  async listPacks(): Promise<PackRecord[]> {
    return this.#all<{ id: Uint8Array; size: number; created_at: number }>(
      'SELECT id, size, created_at FROM packs',
    ).map((p) => ({ id: hex(p.id), size: p.size, createdAt: p.created_at }));
  }

  async packContents(packId: string): Promise<BlobLocation[]> {
    return this.#all<LocationRow>(
      `SELECT ${LOCATION_COLUMNS} FROM blobs b JOIN packs p ON p.row = b.pack WHERE p.id = ? ORDER BY b.offset`,
      bin(packId),
    ).map(toLocation);
  }

  async touchBlobs(ids: readonly string[], now: number): Promise<Set<string>> {
    const touch = this.#db.prepare(`
      UPDATE blobs SET touched_at = max(touched_at, ?)
      WHERE id IN (SELECT unhex(value) FROM json_each(?)) RETURNING id`);
    const present = new Set<string>();
    // A touch guards a running writer against gc; if power fails, that writer is gone too,
    // so the touch needs no fsync. Without this every tree a backup checks costs one.
    this.#db.exec('PRAGMA synchronous = NORMAL');
    try {
      for (const batch of batches(ids)) {
        this.#write(() => {
          for (const row of touch.all(now, JSON.stringify(batch)) as { id: Uint8Array }[])
            present.add(hex(row.id));
        });
      }
    } finally {
      this.#db.exec('PRAGMA synchronous = FULL');
    }
    return present;
  }

  async locateBlobs(ids: readonly string[]): Promise<BlobLocation[]> {
    const locate = this.#db.prepare(`
      SELECT ${LOCATION_COLUMNS} FROM blobs b JOIN packs p ON p.row = b.pack
      WHERE b.id IN (SELECT unhex(value) FROM json_each(?))`);
    return this.#read(() =>
      batches(ids).flatMap((batch) =>
        (locate.all(JSON.stringify(batch)) as unknown as LocationRow[]).map(toLocation),
      ),
    );
  }

  async listBlobIds(type: BlobType): Promise<string[]> {
    return this.#all<{ id: Uint8Array }>('SELECT id FROM blobs WHERE type = ?', BLOB_TYPES.indexOf(type)).map(
      (r) => hex(r.id),
    );
  }

  /** #resolve maps blob IDs to sorted, unique row numbers, or throws 'blob_missing'. */
  #resolve(ids: readonly string[]): number[] {
    const resolve = this.#db.prepare(
      'SELECT count(*) AS found, json_group_array(b.row) AS rows FROM json_each(?) j JOIN blobs b ON b.id = unhex(j.value)',
    );
    const rows: number[] = [];
    let complete = true;
    for (const batch of batches(ids)) {
      const result = resolve.get(JSON.stringify(batch)) as { found: number; rows: string };
      if (result.found !== batch.length) complete = false;
      for (const row of JSON.parse(result.rows) as number[]) rows.push(row);
    }
    if (!complete) this.#throwMissing(ids);
    return sortedUniqueRows(rows);
  }

  #throwMissing(ids: readonly string[]): never {
    const missing = this.#db.prepare(
      'SELECT j.value AS id FROM json_each(?) j WHERE NOT EXISTS (SELECT 1 FROM blobs b WHERE b.id = unhex(j.value))',
    );
    const found = new Set<string>();
    for (const batch of batches(ids))
      for (const row of missing.all(JSON.stringify(batch)) as { id: string }[]) found.add(row.id);
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

  /** #reference adds one to the ref_count of each row. */
  #reference(rows: readonly number[]): void {
    const increment = this.#db.prepare(
      'UPDATE blobs SET ref_count = ref_count + 1 WHERE row IN (SELECT value FROM json_each(?))',
    );
    for (const batch of batches(rows)) increment.run(JSON.stringify(batch));
  }

  /** #release takes one from the ref_count of each row and returns the bytes no longer referenced. */
  #release(rows: readonly number[]): number {
    const decrement = this.#db.prepare(
      'UPDATE blobs SET ref_count = ref_count - 1 WHERE row IN (SELECT value FROM json_each(?)) RETURNING ref_count, length',
    );
    let freed = 0;
    for (const batch of batches(rows)) {
      for (const row of decrement.all(JSON.stringify(batch)) as { ref_count: number; length: number }[]) {
        if (row.ref_count === 0) freed += row.length;
      }
    }
    return freed;
  }

  #referencedBytes(): number {
    return this.#get<{ bytes: number }>(
      'SELECT coalesce(sum(length), 0) AS bytes FROM blobs WHERE ref_count > 0',
    ).bytes;
  }

  async commitSnapshot(commit: SnapshotCommit, maxReferencedBytes: number | undefined): Promise<void> {
    this.#write(() => {
      if (this.#get('SELECT 1 AS found FROM snapshots WHERE id = ?', bin(commit.id)) !== undefined) return;
      const [snapshotBlob] = this.#resolve([commit.id]);
      const findRefset = this.#db.prepare('SELECT row FROM refsets WHERE hash = ?');
      const fresh = new Map<string, { hash: Buffer; data: Buffer; rows: number[] }>();
      const sources = commit.sources.map((source) => {
        const rows = this.#resolve(source.refs);
        const data = encodeRefset(rows);
        const hash = refsetHash(data);
        const known = findRefset.get(hash) as { row: number } | undefined;
        if (known === undefined) fresh.set(hash.toString('hex'), { hash, data, rows });
        return { source, hash, known: known?.row };
      });

      if (maxReferencedBytes !== undefined) {
        const added = [snapshotBlob, ...[...fresh.values()].flatMap((f) => f.rows)];
        const newly = sortedUniqueRows(added);
        const needed = batches(newly).reduce(
          (sum, batch) =>
            sum +
            this.#get<{ bytes: number }>(
              'SELECT coalesce(sum(length), 0) AS bytes FROM blobs WHERE ref_count = 0 AND row IN (SELECT value FROM json_each(?))',
              JSON.stringify(batch),
            ).bytes,
          0,
        );
        const usage = this.#referencedBytes();
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
      }

      const insertRefset = this.#db.prepare('INSERT INTO refsets (hash, data) VALUES (?, ?) RETURNING row');
      const refsetRows = new Map<string, number>();
      for (const [key, set] of fresh) {
        refsetRows.set(key, (insertRefset.get(set.hash, set.data) as { row: number }).row);
        this.#reference(set.rows);
      }
      this.#reference([snapshotBlob]);
      const { row: snapshotRow } = this.#get<{ row: number }>(
        'INSERT INTO snapshots (id, time, device, blob) VALUES (?, ?, ?, ?) RETURNING row',
        bin(commit.id),
        commit.time,
        commit.device ?? '',
        snapshotBlob,
      );
      const insertSource = this.#db.prepare(
        'INSERT INTO snapshot_sources (snapshot, source, tree, logical_size, refset) VALUES (?, ?, ?, ?, ?)',
      );
      for (const { source, hash, known } of sources) {
        const refset = known ?? refsetRows.get(hash.toString('hex'))!;
        insertSource.run(snapshotRow, bin(source.id), bin(source.tree), source.logicalSize, refset);
      }
    });
  }

  async listSnapshots(): Promise<SnapshotRecord[]> {
    return this.#read(() => {
      const snapshots = new Map<number, SnapshotRecord>();
      for (const s of this.#all<{ row: number; id: Uint8Array; time: string; device: string }>(
        'SELECT row, id, time, device FROM snapshots ORDER BY time, id',
      )) {
        snapshots.set(s.row, { id: hex(s.id), time: s.time, device: s.device, sources: [] });
      }
      for (const s of this.#all<{
        snapshot: number;
        source: Uint8Array;
        tree: Uint8Array;
        logical_size: number;
      }>('SELECT snapshot, source, tree, logical_size FROM snapshot_sources ORDER BY snapshot, source')) {
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
  #removeSnapshots(rows: readonly number[], refsets: Iterable<number>): number {
    let freed = 0;
    const removeSnapshot = this.#db.prepare('DELETE FROM snapshots WHERE row = ? RETURNING blob');
    for (const row of rows) {
      const removed = removeSnapshot.get(row) as { blob: number } | undefined;
      if (removed !== undefined) freed += this.#release([removed.blob]);
    }
    const inUse = this.#db.prepare('SELECT 1 AS used FROM snapshot_sources WHERE refset = ? LIMIT 1');
    const removeRefset = this.#db.prepare('DELETE FROM refsets WHERE row = ? RETURNING data');
    for (const refset of new Set(refsets)) {
      if (inUse.get(refset) !== undefined) continue;
      const removed = removeRefset.get(refset) as { data: Uint8Array } | undefined;
      if (removed !== undefined) freed += this.#release(decodeRefset(removed.data));
    }
    return freed;
  }

  async deleteSnapshots(ids: readonly string[]): Promise<{ freedBytes: number }> {
    return this.#write(() => {
      const find = this.#db.prepare('SELECT row FROM snapshots WHERE id = ?');
      const refsetsOf = this.#db.prepare('SELECT refset FROM snapshot_sources WHERE snapshot = ?');
      const rows: number[] = [];
      const refsets: number[] = [];
      for (const id of ids) {
        const found = find.get(bin(id)) as { row: number } | undefined;
        if (found === undefined) continue;
        rows.push(found.row);
        for (const r of refsetsOf.all(found.row) as { refset: number }[]) refsets.push(r.refset);
      }
      return { freedBytes: this.#removeSnapshots(rows, refsets) };
    });
  }

  async deleteSources(
    device: string,
    sourceId?: string,
  ): Promise<{ freedBytes: number; removedSnapshots: string[] }> {
    return this.#write(() => {
      const deleted = this.#all<{ snapshot: number; refset: number }>(
        `DELETE FROM snapshot_sources WHERE snapshot IN (SELECT row FROM snapshots WHERE device = ?)
         ${sourceId === undefined ? '' : 'AND source = ?'} RETURNING snapshot, refset`,
        device,
        ...(sourceId === undefined ? [] : [bin(sourceId)]),
      );
      const touched = [...new Set(deleted.map((d) => d.snapshot))];
      const emptied =
        sourceId === undefined
          ? this.#all<{ row: number; id: Uint8Array }>(
              'SELECT row, id FROM snapshots WHERE device = ?',
              device,
            )
          : this.#all<{ row: number; id: Uint8Array }>(
              `SELECT row, id FROM snapshots WHERE row IN (SELECT value FROM json_each(?))
               AND NOT EXISTS (SELECT 1 FROM snapshot_sources s WHERE s.snapshot = snapshots.row)`,
              JSON.stringify(touched),
            );
      const freedBytes = this.#removeSnapshots(
        emptied.map((s) => s.row),
        deleted.map((d) => d.refset),
      );
      return { freedBytes, removedSnapshots: emptied.map((s) => hex(s.id)) };
    });
  }

  async usage(): Promise<UsageReport> {
    return this.#get(
      `SELECT
        (SELECT coalesce(sum(length), 0) FROM blobs WHERE ref_count > 0) AS referencedBytes,
        (SELECT coalesce(sum(size), 0) FROM packs) AS totalPackBytes,
        (SELECT coalesce(sum(logical_size), 0) FROM snapshot_sources) AS logicalBytes,
        (SELECT count(*) FROM packs) AS packs,
        (SELECT count(*) FROM blobs) AS blobs,
        (SELECT count(*) FROM blobs WHERE ref_count > 0) AS referencedBlobs,
        (SELECT count(*) FROM snapshots) AS snapshots`,
    );
  }

  async storageBreakdown(): Promise<StorageBreakdown> {
    return this.#read(() => {
      const { max } = this.#get<{ max: number }>('SELECT coalesce(max(row), 0) AS max FROM blobs');
      const lengths = new Float64Array(max + 1);
      const referenced = this.#get<{ rows: string; lengths: string }>(
        'SELECT json_group_array(row) AS rows, json_group_array(length) AS lengths FROM blobs WHERE ref_count > 0',
      );
      const rows = JSON.parse(referenced.rows) as number[];
      const sizes = JSON.parse(referenced.lengths) as number[];
      for (let i = 0; i < rows.length; i++) lengths[rows[i]] = sizes[i];
      const refsets = new Map(
        this.#all<{ row: number; data: Uint8Array }>('SELECT row, data FROM refsets').map((r) => [
          r.row,
          r.data,
        ]),
      );
      return computeBreakdown({
        snapshots: this.#all<{ row: number; device: string; time: string; blob: number }>(
          'SELECT row, device, time, blob FROM snapshots',
        ).map((s) => ({ row: s.row, device: s.device, time: s.time, blobRow: s.blob })),
        sources: this.#all<{ snapshot: number; source: Uint8Array; logical_size: number; refset: number }>(
          'SELECT snapshot, source, logical_size, refset FROM snapshot_sources',
        ).map((s) => ({
          snapshotRow: s.snapshot,
          sourceId: hex(s.source),
          logicalSize: s.logical_size,
          refset: s.refset,
        })),
        refsetRows: (refset) => decodeRefset(refsets.get(refset)!),
        lengths,
      });
    });
  }

  async addLock(lock: LockInfo): Promise<void> {
    this.#write(() =>
      this.#db
        .prepare(
          'INSERT INTO locks (id, host, pid, kind, started_at, heartbeat_at) VALUES (?, ?, ?, ?, ?, ?)',
        )
        .run(lock.id, lock.host, lock.pid, lock.kind, lock.startedAt, lock.heartbeatAt),
    );
  }

  async heartbeatLock(id: string, now: number): Promise<void> {
    this.#write(() => this.#db.prepare('UPDATE locks SET heartbeat_at = ? WHERE id = ?').run(now, id));
  }

  async removeLock(id: string): Promise<void> {
    this.#write(() => this.#db.prepare('DELETE FROM locks WHERE id = ?').run(id));
  }

  async listLocks(): Promise<LockInfo[]> {
    return this.#all<{
      id: string;
      host: string;
      pid: number;
      kind: LockInfo['kind'];
      started_at: number;
      heartbeat_at: number;
    }>('SELECT * FROM locks ORDER BY started_at').map((l) => ({
      id: l.id,
      host: l.host,
      pid: l.pid,
      kind: l.kind,
      startedAt: l.started_at,
      heartbeatAt: l.heartbeat_at,
    }));
  }

  async gcPlan(cutoff: number, repackThreshold: number): Promise<GcPlan> {
    return this.#read(() => {
      const counts = this.#get<{ unreferenced: number; young: number }>(
        `SELECT count(*) AS unreferenced, count(*) FILTER (WHERE touched_at >= ?) AS young
         FROM blobs WHERE ref_count = 0`,
        cutoff,
      );
      const garbage = 'b.ref_count = 0 AND b.touched_at < :cutoff';
      const packs = this.#all<{
        row: number;
        id: Uint8Array;
        size: number;
        created_at: number;
        live_bytes: number;
        garbage: number;
      }>(
        `SELECT p.row, p.id, p.size, p.created_at,
           coalesce(sum(b.length) FILTER (WHERE NOT (${garbage})), 0) AS live_bytes,
           count(b.row) FILTER (WHERE ${garbage}) AS garbage
         FROM packs p LEFT JOIN blobs b ON b.pack = p.row
         GROUP BY p.row
         HAVING garbage > 0 OR count(b.row) = 0
           OR p.size - coalesce(sum(b.length), 0) - count(b.row) * :entry - :tail >= :threshold * p.size`,
        { cutoff, threshold: repackThreshold, entry: PACK_ENTRY_SIZE, tail: PACK_TAIL_SIZE },
      );
      const live = this.#db.prepare(
        `SELECT ${LOCATION_COLUMNS} FROM blobs b JOIN packs p ON p.row = b.pack
         WHERE b.pack = :pack AND NOT (${garbage}) ORDER BY b.offset`,
      );
      const result: PackGarbage[] = packs.map((p) => ({
        pack: { id: hex(p.id), size: p.size, createdAt: p.created_at },
        liveBytes: p.live_bytes,
        garbageBlobs: p.garbage,
        live: (live.all({ pack: p.row, cutoff }) as unknown as LocationRow[]).map(toLocation),
      }));
      return { packs: result, unreferencedBlobs: counts.unreferenced, keptYoungBlobs: counts.young };
    });
  }

  #deleteGarbage(packRow: number, cutoff: number): number {
    const deleted = Number(
      this.#db
        .prepare('DELETE FROM blobs WHERE pack = ? AND ref_count = 0 AND touched_at < ?')
        .run(packRow, cutoff).changes,
    );
    if (deleted > 0) this.#newGeneration();
    return deleted;
  }

  /** #newGeneration voids every client's cursor: a blob left the index (call inside the write). */
  #newGeneration(): void {
    this.#db.exec('UPDATE generation SET value = lower(hex(randomblob(16)))');
  }

  async blobsSince(cursor: number, limit: number): Promise<IndexDelta> {
    const since = this.#db.prepare('SELECT row, id FROM blobs WHERE row > ? ORDER BY row LIMIT ?');
    return this.#read(() => {
      const { value: generation } = this.#get<{ value: string }>('SELECT value FROM generation');
      const rows = since.all(cursor, limit + 1) as { row: number; id: Uint8Array }[];
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

  async dropPacks(
    packIds: readonly string[],
    cutoff: number,
  ): Promise<{ deletedPacks: string[]; deletedBlobs: number }> {
    return this.#write(() => {
      const find = this.#db.prepare('SELECT row FROM packs WHERE id = ?');
      const drop = this.#db.prepare(
        'DELETE FROM packs WHERE row = ? AND NOT EXISTS (SELECT 1 FROM blobs WHERE pack = packs.row)',
      );
      const deletedPacks: string[] = [];
      let deletedBlobs = 0;
      for (const id of packIds) {
        const pack = find.get(bin(id)) as { row: number } | undefined;
        if (pack === undefined) continue;
        deletedBlobs += this.#deleteGarbage(pack.row, cutoff);
        if (Number(drop.run(pack.row).changes) === 1) deletedPacks.push(id);
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
    const abandon = new Error('repack abandoned: a blob of the old pack came back to life');
    try {
      return this.#write(() => {
        const old = this.#get<{ row: number } | undefined>('SELECT row FROM packs WHERE id = ?', bin(oldId));
        if (old === undefined) throw abandon;
        const { row: freshRow } = this.#get<{ row: number }>(
          `INSERT INTO packs (id, size, created_at) VALUES (?, ?, ?)
           ON CONFLICT (id) DO UPDATE SET size = excluded.size RETURNING row`,
          bin(fresh.id),
          fresh.size,
          now,
        );
        this.#db
          .prepare(
            `UPDATE blobs SET pack = :fresh, offset = e.value ->> 1
             FROM json_each(:entries) e WHERE blobs.id = unhex(e.value ->> 0) AND blobs.pack = :old`,
          )
          .run({
            fresh: freshRow,
            old: old.row,
            entries: JSON.stringify(fresh.entries.map((e) => [e.id, e.offset])),
          });
        const deletedBlobs = this.#deleteGarbage(old.row, cutoff);
        if (this.#get('SELECT 1 AS left FROM blobs WHERE pack = ? LIMIT 1', old.row) !== undefined)
          throw abandon;
        this.#db.prepare('DELETE FROM packs WHERE row = ?').run(old.row);
        return { ok: true, deletedBlobs };
      });
    } catch (error) {
      if (error === abandon) return { ok: false, deletedBlobs: 0 };
      throw error;
    }
  }

  async condemnPacks(packs: readonly { id: string; size: number }[], now: number): Promise<void> {
    if (packs.length === 0) return;
    this.#write(() => {
      const condemn = this.#db.prepare(
        `INSERT INTO condemned_packs (id, size, condemned_at) VALUES (?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET condemned_at = excluded.condemned_at`,
      );
      for (const pack of packs) condemn.run(bin(pack.id), pack.size, now);
    });
  }

  async condemnedPacks(): Promise<CondemnedPack[]> {
    return this.#all<{ id: Uint8Array; size: number; condemned_at: number }>(
      'SELECT id, size, condemned_at FROM condemned_packs ORDER BY condemned_at',
    ).map((p) => ({ id: hex(p.id), size: p.size, condemnedAt: p.condemned_at }));
  }

  async forgetCondemned(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    this.#write(() => {
      const forget = this.#db.prepare('DELETE FROM condemned_packs WHERE id = ?');
      for (const id of ids) forget.run(bin(id));
    });
  }

  async resetIndex(): Promise<void> {
    this.#write(() => {
      this.#db.exec(
        'DELETE FROM snapshot_sources; DELETE FROM snapshots; DELETE FROM refsets; DELETE FROM blobs; DELETE FROM packs;',
      );
      this.#newGeneration();
    });
  }

  async close(): Promise<void> {
    if (this.#open) this.#db.close();
    this.#open = false;
  }
}
