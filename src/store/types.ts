/**
 * The store's vocabulary. The store holds no key and never sees plaintext: it knows
 * packs, blob IDs, sizes, snapshot IDs and times, and which blobs each snapshot source
 * references. See docs/format.md.
 */
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
  delete(name: string): Promise<void>;
  list(prefix: string): AsyncIterable<{ name: string; size: number }>;
  /** probe writes, reads back and deletes a small object: a live health check. */
  probe(): Promise<void>;
}

export interface BlobLocation {
  id: string;
  type: BlobType;
  packId: string;
  offset: number;
  length: number;
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
  deletedPacks: number;
  repackedPacks: number;
  freedBytes: number;
  keptYoungBlobs: number;
}

export interface LockInfo {
  id: string;
  host: string;
  pid: number;
  kind: 'backup' | 'prune';
  startedAt: number;
  heartbeatAt: number;
}
