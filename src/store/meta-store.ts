/**
 * MetaStore is the port for the store's metadata: the pack and blob index, snapshots with
 * the blobs each of their sources references, and writer locks. SQLite implements it for
 * a local repository or a small server; PostgreSQL can implement it for a large one.
 *
 * Guarantees every implementation gives: each method is atomic (one transaction), writes
 * are durable when the promise resolves, and two writers (processes or connections) are
 * serialized so that a check and the write it guards cannot be split (quota, missing
 * blobs, garbage). IDs are lowercase hex; times are milliseconds since the epoch.
 *
 * Glossary: a blob is *referenced* when a snapshot (its snapshot blob) or a source of a
 * snapshot (its refs) names it; *garbage* is an unreferenced blob touched before a cutoff.
 */
import type { BlobType, PackEntry } from '../core/pack.ts';
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

export interface PackRecord {
  id: string;
  size: number;
  createdAt: number;
}

/** IndexedPack is a pack as the index learns it: its id, size and table. */
export interface IndexedPack {
  id: string;
  size: number;
  entries: readonly PackEntry[];
}

/** PackGarbage is one pack that holds garbage, with what must survive if it is rewritten. */
export interface PackGarbage {
  pack: PackRecord;
  /** Bytes of the blobs that must be kept: referenced, or touched at or after the cutoff. */
  liveBytes: number;
  garbageBlobs: number;
  live: BlobLocation[];
}

/** CondemnedPack is a pack gc took (or is taking) out of the index whose file is kept for the grace. */
export interface CondemnedPack {
  id: string;
  size: number;
  condemnedAt: number;
}

export interface GcPlan {
  /** Every pack with garbage in it, or with no blob indexed to it at all. */
  packs: PackGarbage[];
  unreferencedBlobs: number;
  /** Unreferenced blobs touched at or after the cutoff: kept for a writer that may commit them. */
  keptYoungBlobs: number;
}

export interface MetaStore {
  /** indexPacks adds packs and their blobs; a known pack is skipped, a known blob keeps its first location. */
  indexPacks(packs: readonly IndexedPack[], now: number): Promise<{ newBlobs: number }>;
  hasPack(id: string): Promise<boolean>;
  listPacks(): Promise<PackRecord[]>;
  /** packContents lists the blobs indexed to one pack. */
  packContents(packId: string): Promise<BlobLocation[]>;
  /** touchBlobs marks the given blobs as in use at `now` and returns the ids it holds. */
  touchBlobs(ids: readonly string[], now: number): Promise<Set<string>>;
  locateBlobs(ids: readonly string[]): Promise<BlobLocation[]>;
  /**
   * blobsSince returns up to `limit` blob IDs indexed after `cursor` (0: from the start),
   * in the order they were indexed, with the cursor to ask from next and the index's
   * generation. The generation changes in the transaction that removes any blob (gc,
   * resetIndex): a cursor of another generation means nothing, start again from 0.
   */
  blobsSince(cursor: number, limit: number): Promise<IndexDelta>;
  listBlobIds(type: BlobType): Promise<string[]>;

  /**
   * commitSnapshot stores a snapshot and its sources' references after checking that every
   * referenced blob (and the snapshot blob) is indexed → CumulusError 'blob_missing', and
   * that referenced bytes stay within `maxReferencedBytes` → 'quota_exceeded'. A snapshot
   * already stored is left as it is. Nothing is written when it throws. With a quota it
   * returns the referenced bytes it checked (without one it counts nothing: undefined).
   */
  commitSnapshot(
    commit: SnapshotCommit,
    maxReferencedBytes: number | undefined,
  ): Promise<QuotaOutcome | undefined>;
  listSnapshots(): Promise<SnapshotRecord[]>;
  /** deleteSnapshots removes snapshots (unknown ids are ignored) and returns the bytes no longer referenced. */
  deleteSnapshots(ids: readonly string[]): Promise<{ freedBytes: number }>;
  /**
   * deleteSources removes one source (or, without sourceId, every source) from every
   * snapshot of a device, and the snapshots left with no source (every snapshot of the
   * device, without sourceId). Returns the bytes no longer referenced.
   */
  deleteSources(
    device: string,
    sourceId?: string,
  ): Promise<{ freedBytes: number; removedSnapshots: string[] }>;

  /** usage counts the store. */
  usage(): Promise<UsageReport>;
  storageBreakdown(): Promise<StorageBreakdown>;

  addLock(lock: LockInfo): Promise<void>;
  heartbeatLock(id: string, now: number): Promise<void>;
  removeLock(id: string): Promise<void>;
  listLocks(): Promise<LockInfo[]>;
  /**
   * claimLock adds `lock` unless another lock of its kind is left once the `stale` ones (as
   * the caller saw them; one renewed since stays) are removed, and says whether it did: a
   * lease that one process at a time holds, across every process sharing the store.
   */
  claimLock(lock: LockInfo, stale: readonly LockInfo[]): Promise<boolean>;

  /**
   * gcPlan finds the garbage by pack: packs holding unreferenced blobs touched before
   * `cutoff`, and packs of which at least `repackThreshold` of the bytes no live index
   * entry covers (a copy of a blob indexed elsewhere).
   */
  gcPlan(cutoff: number, repackThreshold: number): Promise<GcPlan>;
  /**
   * dropPacks removes the garbage blobs of the given packs, then the packs left with no
   * blob; returns the ids of the packs removed (a pack whose blob came back to life stays).
   */
  dropPacks(
    packIds: readonly string[],
    cutoff: number,
  ): Promise<{ deletedPacks: string[]; deletedBlobs: number }>;
  /**
   * repointPack moves the blobs of `oldId` that `fresh` holds to `fresh`, removes the rest
   * if they are still garbage and removes `oldId`; if any other blob is still in `oldId` it
   * changes nothing and returns ok false.
   */
  repointPack(
    oldId: string,
    fresh: IndexedPack,
    cutoff: number,
    now: number,
  ): Promise<{ ok: boolean; deletedBlobs: number }>;
  /**
   * condemnPacks records packs gc is about to take out of the index (dropped, or replaced
   * by a repack), so their files are deleted only once no reader or write session that
   * began before can need them. A pack condemned again keeps the later time.
   */
  condemnPacks(packs: readonly { id: string; size: number }[], now: number): Promise<void>;
  /** condemnedPacks lists every condemned pack (indexed again or not: the caller checks). */
  condemnedPacks(): Promise<CondemnedPack[]>;
  /** forgetCondemned drops the records of condemned packs: their files are gone, or they are indexed again. */
  forgetCondemned(ids: readonly string[]): Promise<void>;
  /** resetIndex forgets every pack, blob and snapshot (locks stay): the start of a rebuild. */
  resetIndex(): Promise<void>;
  close(): Promise<void>;
}
