/**
 * RepositoryStore is the keyless repository: pack files in a BlobStore, their index and
 * the snapshots' references in a MetaStore. The same code serves a local repository
 * folder and, inside the server, each account. It never holds a key: it verifies packs by
 * hash and table, counts usage, and collects garbage by copying sealed blobs.
 *
 * Order of writes (docs/format.md, "Safety rules"): a pack is durable before the index
 * names it; the index forgets a pack before its file is deleted; a tombstone is written
 * before a snapshot row is removed. A crash between two steps leaves an orphan file
 * (collected later) or a tombstone, never a snapshot that cannot be restored.
 */
import { createHash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { CumulusError, isCumulusError } from '../core/errors.ts';
import {
  type BlobType,
  PACK_TAIL_SIZE,
  PackBuilder,
  type PackEntry,
  packTableLength,
  parsePack,
  parsePackTable,
} from '../core/pack.ts';
import type { MetaStore, PackGarbage } from './meta-store.ts';
import type {
  BlobLocation,
  BlobRead,
  BlobStore,
  GcOptions,
  GcReport,
  IndexDelta,
  LockInfo,
  QuotaOutcome,
  SnapshotCommit,
  SnapshotRecord,
  StorageBreakdown,
  UsageReport,
} from './types.ts';

export const DEFAULT_GRACE_MS = 15 * 60_000;
export const DEFAULT_REPACK_THRESHOLD = 0.5;
/** A lock whose heartbeat is older than this is stale. */
export const STALE_LOCK_MS = 10 * 60_000;
const HEARTBEAT_MS = 60_000;
/** How often a gc waiting for another one's lock asks again. */
const COLLECTOR_RETRY_MS = 250;
/** Batch size of ID lists sent to the MetaStore in one call. */
const ID_BATCH = 50_000;
/** Bytes read at once when hashing a pack, and read first when looking for its table. */
const READ_CHUNK = 8 << 20;
const TABLE_GUESS = 64 << 10;
/** The longest range one blob read asks of the BlobStore: bounds what a read holds at once. */
const MAX_RUN_BYTES = 8 << 20;

const BLOB_ID = /^[0-9a-f]{64}$/;
const SOURCE_ID = /^[0-9a-f]{2,64}$/;

/** packName is where a pack lives in the BlobStore: `packs/<first two hex>/<id>`. */
export function packName(id: string): string {
  return `packs/${id.slice(0, 2)}/${id}`;
}

const PACK_NAME = /^packs\/([0-9a-f]{2})\/(\1[0-9a-f]{62})$/;

/** packIdOf returns the pack ID a BlobStore name holds, or undefined for anything else (a temporary file). */
export function packIdOf(name: string): string | undefined {
  const match = PACK_NAME.exec(name);
  return match?.[2];
}

/** The end of the name of a file a BlobStore is still writing (FolderBlobStore: `<name>.tmp-<hex>`). */
const TEMPORARY_SUFFIX = /\.tmp-[0-9a-f]+$/;

function invalid(what: string, value: unknown): CumulusError {
  return new CumulusError('invalid_input', `${what} is not valid: ${JSON.stringify(value)?.slice(0, 80)}`);
}

function checkIds(ids: readonly string[], what = 'blob ID'): void {
  for (const id of ids) if (typeof id !== 'string' || !BLOB_ID.test(id)) throw invalid(what, id);
}

function checkCommit(commit: SnapshotCommit): void {
  checkIds([commit.id], 'snapshot ID');
  if (typeof commit.time !== 'string' || Number.isNaN(Date.parse(commit.time)))
    throw invalid('snapshot time', commit.time);
  const seen = new Set<string>();
  for (const source of commit.sources) {
    if (!SOURCE_ID.test(source.id) || source.id.length % 2 !== 0 || seen.has(source.id))
      throw invalid('source ID', source.id);
    seen.add(source.id);
    checkIds([source.tree], 'tree ID');
    if (!Number.isSafeInteger(source.logicalSize) || source.logicalSize < 0)
      throw invalid('logical size', source.logicalSize);
    checkIds(source.refs);
  }
}

/** WriteLock is a registered writer; release it when the write is done (or failed). */
export interface WriteLock {
  readonly info: LockInfo;
  release(): Promise<void>;
}

export interface RepositoryStoreOptions {
  /** This machine's name, to judge whether a lock's process still runs (default os.hostname()). */
  host?: string;
  /** isProcessAlive says whether a process of this host runs (default: signal 0). */
  isProcessAlive?: (pid: number) => boolean;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, under another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class RepositoryStore {
  readonly #meta: MetaStore;
  readonly #blobs: BlobStore;
  readonly #clock: () => number;
  readonly #host: string;
  readonly #isProcessAlive: (pid: number) => boolean;
  readonly #heartbeats = new Set<NodeJS.Timeout>();
  /**
   * Packs addPack is writing or indexing in this process, by ID (with a count: the same
   * pack may be sent twice at once). gc never deletes their files as orphans: between the
   * write and the index a new pack looks exactly like one a crash left behind.
   */
  readonly #storing = new Map<string, number>();
  /** Orphan pack files gc is deleting, by pack ID: addPack waits for them before it writes. */
  readonly #deleting = new Map<string, Promise<void>>();

  constructor(
    meta: MetaStore,
    blobs: BlobStore,
    clock: () => number = Date.now,
    options: RepositoryStoreOptions = {},
  ) {
    this.#meta = meta;
    this.#blobs = blobs;
    this.#clock = clock;
    this.#host = options.host ?? hostname();
    this.#isProcessAlive = options.isProcessAlive ?? processAlive;
  }

  /**
   * addPack verifies a pack (its SHA-256 is `id`, its table parses and names each blob
   * once: 'invalid_input' otherwise) before writing anything, stores it durably, then
   * indexes its blobs. Adding a pack twice is a no-op. `bytes` is what this call stored
   * (0 when the pack was already there).
   */
  async addPack(pack: Uint8Array, id: string): Promise<{ newBlobs: number; bytes: number }> {
    checkIds([id], 'pack ID');
    if ((await sha256Hex(pack)) !== id) {
      throw new CumulusError('corrupt', `the pack does not match its ID ${id.slice(0, 12)}…`, {
        hint: 'the upload was damaged on the way: send the pack again',
      });
    }
    const entries = parsePack(pack);
    const ids = new Set<string>();
    for (const entry of entries) {
      if (ids.has(entry.id)) {
        throw new CumulusError('invalid_input', `the pack's table names blob ${entry.id} twice`, {
          hint: 'a pack holds each blob once; this client is broken or hostile',
        });
      }
      ids.add(entry.id);
    }
    if (await this.#meta.hasPack(id)) return { newBlobs: 0, bytes: 0 };
    this.#storing.set(id, (this.#storing.get(id) ?? 0) + 1);
    try {
      await this.#deleting.get(id);
      await this.#blobs.put(packName(id), pack);
      const { newBlobs } = await this.#meta.indexPacks([{ id, size: pack.length, entries }], this.#clock());
      return { newBlobs, bytes: pack.length };
    } finally {
      const left = (this.#storing.get(id) ?? 1) - 1;
      if (left > 0) this.#storing.set(id, left);
      else this.#storing.delete(id);
    }
  }

  /** missingBlobs returns the IDs the store lacks, and touches the ones it holds (see gc). */
  async missingBlobs(ids: readonly string[]): Promise<Set<string>> {
    checkIds(ids);
    const missing = new Set<string>();
    for (let i = 0; i < ids.length; i += ID_BATCH) {
      const batch = ids.slice(i, i + ID_BATCH);
      const present = await this.#meta.touchBlobs(batch, this.#clock());
      for (const id of batch) if (!present.has(id)) missing.add(id);
    }
    return missing;
  }

  /**
   * blobsSince pages through the blob IDs indexed after `cursor`, for a client's cache of
   * the index (MetaStore.blobsSince: a new generation voids every older cursor).
   */
  async blobsSince(cursor: number, limit: number): Promise<IndexDelta> {
    if (!Number.isSafeInteger(cursor) || cursor < 0) throw invalid('index cursor', cursor);
    if (!Number.isSafeInteger(limit) || limit < 1) throw invalid('page size', limit);
    return this.#meta.blobsSince(cursor, limit);
  }

  /** hasPack says whether the index names a pack. */
  hasPack(id: string): Promise<boolean> {
    checkIds([id], 'pack ID');
    return this.#meta.hasPack(id);
  }

  async locate(id: string): Promise<BlobLocation | undefined> {
    checkIds([id]);
    return (await this.#meta.locateBlobs([id]))[0];
  }

  /**
   * readBlobs answers every distinct ID with a BlobRead (see src/store/types.ts): the
   * sealed bytes, or why this one blob cannot be read. A missing or unreadable pack costs
   * only the blobs stored in it. Each contiguous run of a pack is read at once.
   */
  async readBlobs(ids: readonly string[]): Promise<Map<string, BlobRead>> {
    const result = new Map<string, BlobRead>();
    for await (const [id, read] of this.streamBlobs(ids)) result.set(id, read);
    return result;
  }

  /**
   * streamBlobs yields the answers readBlobs collects, one pack run at a time (a run
   * spans at most MAX_RUN_BYTES unless one blob is larger), so a caller that passes them
   * on holds one run, not the whole answer. Unknown IDs come first.
   */
  async *streamBlobs(ids: readonly string[]): AsyncGenerator<[string, BlobRead]> {
    checkIds(ids);
    const wanted = [...new Set(ids)];
    const locations = await this.#meta.locateBlobs(wanted);
    const found = new Set(locations.map((l) => l.id));
    for (const id of wanted) {
      if (!found.has(id))
        yield [id, { ok: false, code: 'blob_missing', reason: `blob ${id} is not in the index` }];
    }
    for (const [pack, blobs] of Map.groupBy(locations, (l) => l.packId)) {
      let missing: BlobRead | undefined;
      for (const run of contiguousRuns(blobs, MAX_RUN_BYTES)) {
        if (missing !== undefined) {
          for (const blob of run) yield [blob.id, missing];
          continue;
        }
        const read = await this.#readRun(pack, run);
        // A damaged run is read again blob by blob: the blobs before the damage are intact.
        const answers =
          !read.ok && read.code === 'pack_damaged' && run.length > 1 ? run.map((blob) => [blob]) : [run];
        for (const part of answers) {
          const got = part === run ? read : await this.#readRun(pack, part);
          if (!got.ok && got.code === 'pack_missing') missing = got;
          const start = part[0].offset;
          for (const blob of part) {
            yield [
              blob.id,
              got.ok
                ? {
                    ok: true,
                    bytes: got.bytes.subarray(blob.offset - start, blob.offset - start + blob.length),
                  }
                : got,
            ];
          }
        }
      }
    }
  }

  /** #readRun reads the bytes of one contiguous run of a pack, or why they cannot be read. */
  async #readRun(pack: string, run: readonly BlobLocation[]): Promise<BlobRead> {
    const start = run[0].offset;
    const end = run[run.length - 1].offset + run[run.length - 1].length;
    try {
      return {
        ok: true,
        bytes: await this.#blobs.get(packName(pack), { offset: start, length: end - start }),
      };
    } catch (error) {
      return packFailure(pack, error);
    }
  }

  async #readPack(pack: string, range?: { offset: number; length: number }): Promise<Buffer> {
    try {
      return await this.#blobs.get(packName(pack), range);
    } catch (error) {
      if (!isCumulusError(error, 'not_found')) throw error;
      throw new CumulusError('corrupt', `pack ${pack} is in the index but missing from storage`, {
        hint: 'run `cumulus check` to see what is affected',
        cause: error,
      });
    }
  }

  /**
   * commitSnapshot stores a snapshot once every blob it references is in the store. With
   * maxReferencedBytes, a commit that would take referenced bytes past it is refused
   * ('quota_exceeded') and nothing is written; the check and the write are one transaction,
   * and the referenced bytes it counted come back (MetaStore.commitSnapshot).
   */
  commitSnapshot(commit: SnapshotCommit, options: { maxReferencedBytes: number }): Promise<QuotaOutcome>;
  commitSnapshot(
    commit: SnapshotCommit,
    options?: { maxReferencedBytes?: number },
  ): Promise<QuotaOutcome | undefined>;
  async commitSnapshot(
    commit: SnapshotCommit,
    options: { maxReferencedBytes?: number } = {},
  ): Promise<QuotaOutcome | undefined> {
    checkCommit(commit);
    return this.#meta.commitSnapshot(commit, options.maxReferencedBytes);
  }

  listSnapshots(): Promise<SnapshotRecord[]> {
    return this.#meta.listSnapshots();
  }

  /** forgetSnapshots writes a tombstone for each snapshot, then removes it; returns bytes no longer referenced. */
  async forgetSnapshots(ids: readonly string[]): Promise<number> {
    checkIds(ids, 'snapshot ID');
    await this.#tombstone(ids);
    return (await this.#meta.deleteSnapshots(ids)).freedBytes;
  }

  async #tombstone(ids: readonly string[]): Promise<void> {
    for (const id of ids) await this.#blobs.put(`forgotten/${id}`, new Uint8Array(0));
  }

  async forgottenSnapshots(): Promise<Set<string>> {
    const ids = new Set<string>();
    for await (const { name } of this.#blobs.list('forgotten/')) {
      const id = name.slice('forgotten/'.length);
      if (BLOB_ID.test(id)) ids.add(id);
    }
    return ids;
  }

  /** usage counts stored and referenced bytes; see UsageReport. */
  usage(): Promise<UsageReport> {
    return this.#meta.usage();
  }

  /**
   * storedBytes is what a quota counts: the bytes of every indexed pack, garbage and
   * uploads not yet committed included, until gc has removed them. So bytes no snapshot
   * needs (an upload never committed, a second copy of a blob) cost their owner until
   * collected, and a table cannot hide bytes from the count.
   */
  async storedBytes(): Promise<number> {
    return (await this.#meta.usage()).totalPackBytes;
  }

  storageBreakdown(): Promise<StorageBreakdown> {
    return this.#meta.storageBreakdown();
  }

  /**
   * deleteSource removes a source from every snapshot of a device (a snapshot left with no
   * source goes too) and returns the bytes no longer referenced: what gc will free.
   */
  async deleteSource(device: string, sourceId: string): Promise<number> {
    if (!SOURCE_ID.test(sourceId)) throw invalid('source ID', sourceId);
    return this.#deleteSources(device, sourceId);
  }

  /** deleteDevice removes every snapshot of a device; returns the bytes no longer referenced. */
  deleteDevice(device: string): Promise<number> {
    return this.#deleteSources(device, undefined);
  }

  async #deleteSources(device: string, sourceId: string | undefined): Promise<number> {
    const emptied = (await this.#meta.listSnapshots()).filter(
      (s) =>
        s.device === device &&
        (sourceId === undefined || s.sources.every((source) => source.id === sourceId)),
    );
    await this.#tombstone(emptied.map((s) => s.id));
    return (await this.#meta.deleteSources(device, sourceId)).freedBytes;
  }

  /**
   * beginWrite registers a writer of this process: garbage collection keeps every blob
   * touched after it started. A heartbeat keeps it fresh until release; a lock left by a
   * dead process goes stale (see STALE_LOCK_MS). It is openLease with its own heartbeat.
   */
  async beginWrite(owner: { host: string; pid: number; kind: LockInfo['kind'] }): Promise<WriteLock> {
    return this.#heartbeating(await this.openLease(owner));
  }

  /** #heartbeating keeps a lock of this process fresh until it is released. */
  #heartbeating(info: LockInfo): WriteLock {
    const timer = setInterval(() => {
      // A failed heartbeat only lets the lock go stale early; the next one retries.
      this.#meta.heartbeatLock(info.id, this.#clock()).catch(() => {});
    }, HEARTBEAT_MS);
    timer.unref();
    this.#heartbeats.add(timer);
    return {
      info,
      release: async () => {
        clearInterval(timer);
        this.#heartbeats.delete(timer);
        await this.endLease(info.id);
      },
    };
  }

  /**
   * openLease registers a writer whose heartbeats come from elsewhere (a device, through
   * the server): it protects what the writer touches until endLease, or until it has not
   * been renewed for STALE_LOCK_MS.
   */
  async openLease(owner: { host: string; pid: number; kind: LockInfo['kind'] }): Promise<LockInfo> {
    const info = this.#newLock(owner);
    await this.#meta.addLock(info);
    return info;
  }

  #newLock(owner: { host: string; pid: number; kind: LockInfo['kind'] }): LockInfo {
    const now = this.#clock();
    return { id: randomBytes(16).toString('hex'), ...owner, startedAt: now, heartbeatAt: now };
  }

  /**
   * #claimCollector takes the repository's one 'prune' lock, waiting while another gc (of
   * this or any other process sharing the MetaStore) holds it; a lock its process left
   * behind is taken over once stale.
   */
  async #claimCollector(): Promise<WriteLock> {
    for (;;) {
      const stale = (await this.listLocks()).filter((l) => l.kind === 'prune' && l.stale);
      const info = this.#newLock({ host: this.#host, pid: process.pid, kind: 'prune' });
      if (await this.#meta.claimLock(info, stale)) return this.#heartbeating(info);
      await sleep(COLLECTOR_RETRY_MS);
    }
  }

  /** renewLease keeps a lease fresh; one that is over (released or stale) is 'not_found'. */
  async renewLease(id: string): Promise<void> {
    const lease = (await this.listLocks()).find((l) => l.id === id);
    if (lease === undefined || lease.stale) {
      throw new CumulusError('not_found', 'this write session is over', {
        hint: 'begin a new one; blobs already uploaded stay until collected',
      });
    }
    await this.#meta.heartbeatLock(id, this.#clock());
  }

  /** endLease ends a lease; an unknown one is already over. */
  endLease(id: string): Promise<void> {
    return this.#meta.removeLock(id);
  }

  /** isStale says whether a lock no longer protects anything. */
  isStale(lock: LockInfo): boolean {
    if (this.#clock() - lock.heartbeatAt > STALE_LOCK_MS) return true;
    return lock.host === this.#host && !this.#isProcessAlive(lock.pid);
  }

  /** listLocks returns every lock row with whether it is stale. */
  async listLocks(): Promise<(LockInfo & { stale: boolean })[]> {
    return (await this.#meta.listLocks()).map((lock) => ({ ...lock, stale: this.isStale(lock) }));
  }

  /** removeStaleLocks deletes the locks of writers that are gone; returns how many. */
  async removeStaleLocks(): Promise<number> {
    const stale = (await this.listLocks()).filter((l) => l.stale);
    for (const lock of stale) await this.#meta.removeLock(lock.id);
    return stale.length;
  }

  /**
   * gc removes garbage: unreferenced blobs touched before the start of the oldest live
   * writer and before now − grace. Packs holding only garbage are dropped from the index;
   * packs with at least `repackThreshold` of their bytes garbage are rewritten without it;
   * pack files the index does not know, older than the same cutoff, are deleted.
   *
   * A pack taken out of the index is first *condemned*: its file stays, so a reader that
   * located a blob in it before, or a write session older than the condemnation, still
   * finds it; a commit that names one of its dropped blobs is refused ('blob_missing'),
   * so the client uploads them again. A later gc deletes the file once it was condemned
   * more than the grace ago and before every live writer began (`purgedPacks`). Objects
   * are never renamed or overwritten with other bytes, which S3-style storage needs.
   *
   * One gc at a time per repository, across processes (server replicas sharing one
   * PostgreSQL, two commands on one local repository): a run holds the 'prune' lock and
   * another waits for it. Two runs at once would each act on a plan the other is changing:
   * one deletes as an orphan the pack the other's repack is about to index, or forgets the
   * condemnation of a pack the other just dropped. A dry run changes nothing and waits for
   * nobody.
   */
  async gc(options: GcOptions = {}): Promise<GcReport> {
    if (options.dryRun) return this.#collect(options);
    const lock = await this.#claimCollector();
    try {
      return await this.#collect(options);
    } finally {
      await lock.release();
    }
  }

  async #collect(options: GcOptions): Promise<GcReport> {
    const now = this.#clock();
    const grace = options.graceMs ?? DEFAULT_GRACE_MS;
    const threshold = options.repackThreshold ?? DEFAULT_REPACK_THRESHOLD;
    const writers = (await this.listLocks()).filter((l) => !l.stale && l.kind === 'backup');
    const since = (at: number) => Math.min(at - grace, ...writers.map((l) => l.startedAt));
    const cutoff = since(now);
    const plan = await this.#meta.gcPlan(cutoff, threshold);
    const drop = plan.packs.filter((p) => p.live.length === 0);
    const repack = plan.packs.filter(
      (p) => p.live.length > 0 && (p.pack.size - p.liveBytes) / p.pack.size >= threshold,
    );
    const report: GcReport = {
      unreferencedBlobs: plan.unreferencedBlobs,
      deletedBlobs: 0,
      deletedPacks: 0,
      repackedPacks: 0,
      freedBytes: 0,
      keptYoungBlobs: plan.keptYoungBlobs,
      purgedPacks: 0,
      condemnedPacks: 0,
    };
    const condemned = await this.#meta.condemnedPacks();
    const orphans = await this.#orphans(cutoff, new Set(condemned.map((c) => c.id)));
    if (options.dryRun) {
      const affected = [...drop, ...repack];
      report.deletedBlobs = affected.reduce((sum, p) => sum + p.garbageBlobs, 0);
      report.deletedPacks = drop.length + orphans.length;
      report.repackedPacks = repack.length;
      report.freedBytes =
        affected.reduce((sum, p) => sum + p.pack.size - p.liveBytes, 0) +
        orphans.reduce((sum, o) => sum + o.size, 0);
      const purgeable = (at: number) => at <= since(now);
      const waiting = condemned.filter((c) => !purgeable(c.condemnedAt)).length;
      const fresh = affected.length;
      report.purgedPacks = condemned.length - waiting + (purgeable(now) ? fresh : 0);
      report.condemnedPacks = waiting + (purgeable(now) ? 0 : fresh);
      return report;
    }

    for (const pack of repack) {
      const result = await this.#repack(pack, cutoff);
      if (result === undefined) continue;
      report.repackedPacks++;
      report.deletedBlobs += result.deletedBlobs;
      report.freedBytes += pack.pack.size - result.size;
    }
    await this.#meta.condemnPacks(
      drop.map((p) => p.pack),
      this.#clock(),
    );
    const dropped = await this.#meta.dropPacks(
      drop.map((p) => p.pack.id),
      cutoff,
    );
    report.deletedBlobs += dropped.deletedBlobs;
    // A pack whose blob came back to life stays in the index, so it is not condemned.
    const kept = new Set(drop.map((p) => p.pack.id));
    for (const id of dropped.deletedPacks) kept.delete(id);
    await this.#meta.forgetCondemned([...kept]);
    const sizes = new Map(drop.map((p) => [p.pack.id, p.pack.size]));
    for (const id of dropped.deletedPacks) {
      report.deletedPacks++;
      report.freedBytes += sizes.get(id)!;
    }
    for (const orphan of orphans) {
      // A pack (or its temporary file) being added right now, or indexed since we listed it: no orphan.
      const writing = packIdOf(orphan.name.replace(TEMPORARY_SUFFIX, ''));
      if (writing !== undefined && this.#storing.has(writing)) continue;
      const id = packIdOf(orphan.name);
      if (id !== undefined && (await this.#meta.hasPack(id))) continue;
      if (writing !== undefined && this.#storing.has(writing)) continue;
      await this.#deleteOrphan(orphan.name, id);
      report.deletedPacks++;
      report.freedBytes += orphan.size;
    }
    const purged = await this.#purge(since(this.#clock()));
    report.purgedPacks = purged.purged;
    report.condemnedPacks = purged.waiting;
    return report;
  }

  /**
   * #purge deletes the files of packs condemned at or before `before` that the index does
   * not name (again); a condemned pack indexed again is simply no longer condemned.
   */
  async #purge(before: number): Promise<{ purged: number; waiting: number }> {
    let purged = 0;
    let waiting = 0;
    for (const pack of await this.#meta.condemnedPacks()) {
      if (pack.condemnedAt > before || this.#storing.has(pack.id)) {
        waiting++;
        continue;
      }
      if (!(await this.#meta.hasPack(pack.id))) {
        await this.#deleteOrphan(packName(pack.id), pack.id);
        purged++;
      }
      await this.#meta.forgetCondemned([pack.id]);
    }
    return { purged, waiting };
  }

  /**
   * #deleteOrphan deletes an unindexed pack file; an addPack of the same ID that starts
   * meanwhile waits for the deletion before it writes the file again.
   */
  async #deleteOrphan(name: string, id: string | undefined): Promise<void> {
    const deletion = this.#blobs.delete(name);
    if (id === undefined) return deletion;
    const settled = deletion.catch(() => {});
    this.#deleting.set(id, settled);
    try {
      await deletion;
    } finally {
      if (this.#deleting.get(id) === settled) this.#deleting.delete(id);
    }
  }

  /**
   * #orphans lists files under packs/ the index does not name, written before `cutoff`;
   * the files of condemned packs are not orphans: #purge deletes them after their grace.
   */
  async #orphans(cutoff: number, condemned: Set<string>): Promise<{ name: string; size: number }[]> {
    const indexed = new Set((await this.#meta.listPacks()).map((p) => p.id));
    const orphans: { name: string; size: number }[] = [];
    for await (const file of this.#blobs.list('packs/')) {
      const id = packIdOf(file.name);
      const known = id !== undefined && (indexed.has(id) || condemned.has(id));
      if (!known && file.modifiedAt < cutoff) orphans.push(file);
    }
    return orphans;
  }

  /**
   * #repack copies the live blobs of a pack into a new one (sealed bytes, no key needed),
   * stores it durably, condemns the old pack and repoints the index (gc deletes the old
   * file after the grace). Returns undefined
   * when a blob came back to life meanwhile: the old pack then stays as it is.
   */
  async #repack(
    garbage: PackGarbage,
    cutoff: number,
  ): Promise<{ size: number; deletedBlobs: number } | undefined> {
    const blobs = await this.#readRuns(garbage.pack.id, garbage.live);
    const builder = new PackBuilder();
    for (const blob of garbage.live) builder.add(blob.type, blob.id, blobs.get(blob.id)!);
    const fresh = builder.finish();
    await this.#blobs.put(packName(fresh.id), fresh.bytes);
    await this.#meta.condemnPacks([garbage.pack], this.#clock());
    const result = await this.#meta.repointPack(
      garbage.pack.id,
      { id: fresh.id, size: fresh.bytes.length, entries: fresh.entries },
      cutoff,
      this.#clock(),
    );
    if (!result.ok) {
      await this.#meta.forgetCondemned([garbage.pack.id]);
      if (!(await this.#meta.hasPack(fresh.id))) await this.#blobs.delete(packName(fresh.id));
      return undefined;
    }
    return { size: fresh.bytes.length, deletedBlobs: result.deletedBlobs };
  }

  async #readRuns(pack: string, blobs: readonly BlobLocation[]): Promise<Map<string, Buffer>> {
    const result = new Map<string, Buffer>();
    for (const run of contiguousRuns(blobs)) {
      const start = run[0].offset;
      const end = run[run.length - 1].offset + run[run.length - 1].length;
      const bytes = await this.#readPack(pack, { offset: start, length: end - start });
      for (const blob of run)
        result.set(blob.id, bytes.subarray(blob.offset - start, blob.offset - start + blob.length));
    }
    return result;
  }

  /**
   * checkPacks compares every indexed pack with storage: present, of the indexed size;
   * with readData also its SHA-256 (read in chunks) and its table against the index.
   * A damaged pack lists its blobs, and with readData every pack does (a client with the
   * key opens them).
   */
  async checkPacks(options: {
    readData: boolean;
  }): Promise<{ packId: string; ok: boolean; problem?: string; blobs: string[] }[]> {
    const results = [];
    for (const pack of await this.#meta.listPacks()) {
      const problem = await this.#checkPack(pack.id, pack.size, options.readData);
      const listed = problem !== undefined || options.readData;
      const blobs = listed ? (await this.#meta.packContents(pack.id)).map((b) => b.id) : [];
      results.push(
        problem === undefined
          ? { packId: pack.id, ok: true, blobs }
          : { packId: pack.id, ok: false, problem, blobs },
      );
    }
    return results;
  }

  async #checkPack(id: string, size: number, readData: boolean): Promise<string | undefined> {
    const stored = await this.#blobs.size(packName(id));
    if (stored === undefined) return 'the pack file is missing';
    if (stored !== size) return `the pack file has ${stored} bytes, the index says ${size}`;
    if (!readData) return undefined;
    const hash = createHash('sha256');
    for (let offset = 0; offset < size; offset += READ_CHUNK) {
      hash.update(
        await this.#blobs.get(packName(id), { offset, length: Math.min(READ_CHUNK, size - offset) }),
      );
    }
    if (hash.digest('hex') !== id) return 'the pack contents do not match its ID (damaged bytes)';
    let entries: PackEntry[];
    try {
      entries = await this.#readTable(id, size);
    } catch (error) {
      if (isCumulusError(error, 'corrupt')) return error.message;
      throw error;
    }
    const table = new Map(entries.map((e) => [e.id, e]));
    for (const blob of await this.#meta.packContents(id)) {
      const entry = table.get(blob.id);
      if (
        entry === undefined ||
        entry.type !== blob.type ||
        entry.offset !== blob.offset ||
        entry.length !== blob.length
      ) {
        return `the index places blob ${blob.id} where the pack's table does not`;
      }
    }
    return undefined;
  }

  /** #readTable reads only the end of a pack: its table and tail. */
  async #readTable(id: string, size: number): Promise<PackEntry[]> {
    const guess = Math.min(size, TABLE_GUESS);
    let end = await this.#blobs.get(packName(id), { offset: size - guess, length: guess });
    const needed = packTableLength(end.subarray(end.length - PACK_TAIL_SIZE));
    if (needed > size)
      throw new CumulusError('corrupt', 'pack is damaged: its table is longer than the pack');
    if (needed > guess) end = await this.#blobs.get(packName(id), { offset: size - needed, length: needed });
    return parsePackTable(end, size);
  }

  /**
   * rebuildIndex forgets the index and rebuilds packs and blobs from the pack files,
   * reading only each pack's table. Damaged packs are skipped and named. Snapshot rows go:
   * the client re-commits them after decrypting the snapshot blobs.
   */
  async rebuildIndex(): Promise<{ packs: number; blobs: number; damagedPacks: string[] }> {
    await this.#meta.resetIndex();
    const damagedPacks: string[] = [];
    let packs = 0;
    let blobs = 0;
    let batch: { id: string; size: number; entries: PackEntry[] }[] = [];
    const flush = async () => {
      blobs += (await this.#meta.indexPacks(batch, this.#clock())).newBlobs;
      packs += batch.length;
      batch = [];
    };
    for await (const file of this.#blobs.list('packs/')) {
      const id = packIdOf(file.name);
      if (id === undefined) continue;
      try {
        batch.push({ id, size: file.size, entries: await this.#readTable(id, file.size) });
      } catch (error) {
        if (!isCumulusError(error, 'corrupt')) throw error;
        damagedPacks.push(id);
      }
      if (batch.length >= 200) await flush();
    }
    await flush();
    return { packs, blobs, damagedPacks };
  }

  listBlobIds(type: BlobType): Promise<string[]> {
    return this.#meta.listBlobIds(type);
  }

  /** close stops heartbeats and closes the MetaStore. Locks not released go stale. */
  async close(): Promise<void> {
    for (const timer of this.#heartbeats) clearInterval(timer);
    this.#heartbeats.clear();
    await this.#meta.close();
  }
}

/**
 * sha256Hex hashes bytes on the thread pool (WebCrypto), not on the event loop: a 16 MiB
 * pack takes tens of milliseconds, during which the loop keeps answering other requests.
 */
async function sha256Hex(bytes: Uint8Array): Promise<string> {
  return Buffer.from(await crypto.subtle.digest('SHA-256', bytes)).toString('hex');
}

/**
 * packFailure is the BlobRead of every blob of a run whose pack read failed: missing
 * file → pack_missing; shorter than the index says or an I/O error → pack_damaged. Other
 * errors are bugs and propagate.
 */
function packFailure(pack: string, error: unknown): BlobRead {
  const damaged = (what: string): BlobRead => ({
    ok: false,
    code: 'pack_damaged',
    packId: pack,
    reason: `pack ${pack} ${what}`,
  });
  if (isCumulusError(error, 'not_found'))
    return { ok: false, code: 'pack_missing', packId: pack, reason: `pack ${pack} is missing from storage` };
  if (isCumulusError(error, 'corrupt')) return damaged('is shorter than the index says');
  const errno = (error as NodeJS.ErrnoException | undefined)?.code;
  if (!isCumulusError(error) && typeof errno === 'string') return damaged(`cannot be read (${errno})`);
  throw error;
}

/**
 * contiguousRuns groups blob locations of one pack into runs that touch end to start,
 * each spanning at most `maxBytes` (a single larger blob is a run of its own).
 */
function contiguousRuns(
  blobs: readonly BlobLocation[],
  maxBytes = Number.POSITIVE_INFINITY,
): BlobLocation[][] {
  const sorted = [...blobs].sort((a, b) => a.offset - b.offset);
  const runs: BlobLocation[][] = [];
  for (const blob of sorted) {
    const run = runs[runs.length - 1];
    const last = run?.[run.length - 1];
    if (
      last !== undefined &&
      last.offset + last.length === blob.offset &&
      blob.offset + blob.length - run[0].offset <= maxBytes
    )
      run.push(blob);
    else runs.push([blob]);
  }
  return runs;
}
