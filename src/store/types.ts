/**
 * The store's vocabulary. The store holds no key and never sees plaintext: it knows
 * packs, blob IDs, sizes, snapshot IDs and times, and which blobs each snapshot source
 * references. See docs/format.md.
 */
import type { BlobRead } from '../core/blob-read.ts';
import type { BlobType } from '../core/pack.ts';

/**
 * BlobStore keeps named byte objects (packs, tombstones). Guarantees: `put` is atomic and
 * durable when it resolves (never a half-written object under the final name);
 * read-after-write; `list` returns every name under a prefix.
 */
export interface BlobStore {
  put(name: string, data: Uint8Array): Promise<void>;
  /** get reads a whole object, or `length` bytes from `offset`. Missing → CumulusError 'not_found'. */
  get(name: string, range?: { offset: number; length: number }): Promise<Buffer>;
  /** size returns the object's size in bytes, or undefined when it does not exist. */
  size(name: string): Promise<number | undefined>;
  /** delete removes an object; a missing one is not an error. */
  delete(name: string): Promise<void>;
  /** list yields every object whose name starts with `prefix`, in no particular order. */
  list(prefix: string): AsyncIterable<BlobInfo>;
  /** probe writes, reads back and deletes a small object: a live health check. */
  probe(): Promise<void>;
}

/** RepositoryConfig is the plaintext `config` of a repository (docs/format.md). */
export interface RepositoryConfig {
  version: 1;
  id: string;
  chunker: { min: number; avg: number; max: number };
  created: string;
}

export interface BlobLocation {
  id: string;
  type: BlobType;
  packId: string;
  offset: number;
  length: number;
}

/**
 * IndexDelta is a page of the blob index in the order blobs were indexed (see
 * MetaStore.blobsSince): what a client's cache of "which blobs exist" needs to catch up.
 */
export interface IndexDelta {
  /** Changes whenever a blob leaves the index; a cursor of another generation is void. */
  generation: string;
  /** Ask from here for the next page. */
  cursor: number;
  ids: string[];
  /** No blob after `cursor` (as of this answer). */
  complete: boolean;
}

/** SourceCommit is what the store learns about one backed-up path of a snapshot. */
export interface SourceCommit {
  /** Opaque source ID (hex), HMAC of host and path: no name in the clear. */
  id: string;
  /** Root tree blob ID. */
  tree: string;
  /** Bytes of file content under the source, as the owner sees them. */
  logicalSize: number;
  /** Every data and tree blob ID under the root, including the root tree. */
  refs: string[];
}

export interface SnapshotCommit {
  /** The snapshot's ID: the blob ID of its (encrypted) snapshot blob. */
  id: string;
  time: string;
  sources: SourceCommit[];
  /** Device the snapshot belongs to (the server sets it; local repositories leave it empty). */
  device?: string;
}

/** QuotaOutcome is what a commit checked against a quota found, inside its transaction. */
export interface QuotaOutcome {
  /** Stored bytes the repository's snapshots reference once the commit is in. */
  referencedBytes: number;
  /** Of those, the bytes this commit made referenced (0 for a snapshot already stored). */
  addedBytes: number;
}

export interface SourceRecord {
  id: string;
  tree: string;
  logicalSize: number;
}

export interface SnapshotRecord {
  id: string;
  time: string;
  device: string;
  sources: SourceRecord[];
}

export interface UsageReport {
  /** Stored bytes referenced by any snapshot, each blob counted once. */
  referencedBytes: number;
  /** Bytes of every pack in the store, garbage included. */
  totalPackBytes: number;
  /** Sum of logical sizes of all sources of all snapshots. */
  logicalBytes: number;
  packs: number;
  blobs: number;
  referencedBlobs: number;
  snapshots: number;
}

export interface GcOptions {
  dryRun?: boolean;
  /** Repack a pack when at least this fraction of its bytes is garbage (default 0.5). */
  repackThreshold?: number;
  /** An unreferenced blob younger than this is kept (default 15 minutes). */
  graceMs?: number;
}

export interface GcReport {
  unreferencedBlobs: number;
  deletedBlobs: number;
  /** Packs taken out of the index (dropped or repacked) and orphan files deleted. */
  deletedPacks: number;
  repackedPacks: number;
  /** Bytes no longer counted: of the packs taken out of the index, and of orphan files. */
  freedBytes: number;
  keptYoungBlobs: number;
  /** Files of condemned packs deleted in this run (their grace was over). */
  purgedPacks: number;
  /** Condemned packs whose files are kept until the grace is over and every older write session has ended. */
  condemnedPacks: number;
}

export interface LockInfo {
  id: string;
  host: string;
  pid: number;
  kind: 'backup' | 'prune';
  startedAt: number;
  heartbeatAt: number;
}

/** BlobInfo describes one stored object. */
export interface BlobInfo {
  name: string;
  size: number;
  /** When the object was last written (ms since the epoch): orphans are judged by it. */
  modifiedAt: number;
}

/** SourceUsage is one source of one device in "Manage Storage". All sizes in bytes. */
export interface SourceUsage {
  id: string;
  /** Logical size of the source in its latest snapshot. */
  logicalSize: number;
  /** Stored bytes of every blob the source references in any snapshot, each counted once. */
  storedBytes: number;
  /** Stored bytes referenced by this source only: what deleting it frees. */
  exclusiveBytes: number;
  snapshots: number;
  latestTime: string;
}

/** DeviceUsage is one device's totals and its sources. */
export interface DeviceUsage {
  device: string;
  /** Sum of its sources' logical sizes. */
  logicalSize: number;
  storedBytes: number;
  /** Stored bytes referenced by this device only: what deleting the device frees. */
  exclusiveBytes: number;
  snapshots: number;
  sources: SourceUsage[];
}

/** StorageBreakdown is "Manage Storage": exact, deduplicated usage per device and source. */
export interface StorageBreakdown {
  referencedBytes: number;
  devices: DeviceUsage[];
}

export type { BlobRead };
