/**
 * The ports between the client (which holds keys and plaintext) and a store (which holds
 * neither), as small roles. Every repository — LocalRepository (a store in this process,
 * over a folder) and RemoteRepository (the Cumulus server over HTTP) — implements
 * `Repository`; only a local one also implements `Maintenance` and `IndexRebuild` (an
 * account's server runs those itself). An engine asks for the roles it uses: the
 * archiver cannot tell the two apart, nor can the restorer or the checker.
 */
import { CumulusError } from '../core/errors.ts';
import type { PackEntry } from '../core/pack.ts';
import type {
  BlobRead,
  GcOptions,
  GcReport,
  IndexDelta,
  RepositoryConfig,
  SnapshotCommit,
  SnapshotRecord,
  UsageReport,
} from '../store/types.ts';

/** WriteSession keeps a writer's lock alive so garbage collection leaves its blobs alone. */
export interface WriteSession {
  release(): Promise<void>;
}

export interface PackCheck {
  packId: string;
  ok: boolean;
  /** Why the pack is damaged or missing, in plain words. */
  problem?: string;
  /** Blob IDs the pack holds, as the index knows them: of a damaged pack, and with readData of every pack. */
  blobs: string[];
}

/** PackIngest is how a backup stores data: ask which blobs are new, then send packs of them. */
export interface PackIngest {
  /** missingBlobs returns the subset of ids the repository does not hold; it touches the ones it holds. */
  missingBlobs(ids: string[]): Promise<Set<string>>;
  /**
   * putPack stores a finished pack durably and indexes its blobs. Idempotent. Once the
   * promise settles the caller may reuse the memory of `pack`: keep no reference to it.
   * A pack that fails leaves none of its blobs indexed.
   */
  putPack(pack: Uint8Array, packId: string): Promise<void>;
}

/**
 * BlobIndex lists what the repository holds, in the order it was indexed, for a device's
 * cache of the index (IndexCache) to catch up with.
 */
export interface BlobIndex {
  /**
   * blobsSince returns one page of the blob IDs indexed after `cursor` (0: from the
   * start) with the index's generation, which changes whenever a blob leaves the index.
   */
  blobsSince(cursor: number): Promise<IndexDelta>;
}

/** BlobReader reads sealed blobs back. */
export interface BlobReader {
  /**
   * readBlobs answers every distinct ID asked with a BlobRead: the sealed bytes, or why
   * that one blob cannot be read (a missing or damaged pack costs only its own blobs).
   * Each contiguous range of a pack is read once.
   */
  readBlobs(ids: readonly string[]): Promise<Map<string, BlobRead>>;
}

/** SnapshotIndex lists, commits and forgets snapshots. */
export interface SnapshotIndex {
  listSnapshots(): Promise<SnapshotRecord[]>;
  /** commitSnapshot stores a snapshot atomically; it refuses ('blob_missing') one that references a blob the repository does not hold. */
  commitSnapshot(commit: SnapshotCommit): Promise<void>;
  forgetSnapshots(ids: string[]): Promise<void>;
}

/** WriteLeases registers a writer so garbage collection keeps what it stores and relies on. */
export interface WriteLeases {
  /** beginWrite registers a writer (a backup) until release. */
  beginWrite(): Promise<WriteSession>;
}

/** Repository is every role every repository implements, plus what identifies and closes it. */
export interface Repository extends PackIngest, BlobIndex, BlobReader, SnapshotIndex, WriteLeases {
  readonly location: string;
  config(): Promise<RepositoryConfig>;
  usage(): Promise<UsageReport>;
  close(): Promise<void>;
}

/** Maintenance is keyless upkeep a client runs itself on a repository folder. */
export interface Maintenance {
  gc(options: GcOptions): Promise<GcReport>;
  /** checkPacks verifies the index against the packs; with readData every pack's hash and table too. */
  checkPacks(options: { readData: boolean }): Promise<PackCheck[]>;
}

/** IndexRebuild rebuilds a lost index from the pack files (`repair index`). */
export interface IndexRebuild {
  /**
   * rebuildIndex forgets the index and rebuilds packs and blobs from the pack files alone
   * (snapshot rows are dropped: the client re-commits them after decrypting).
   */
  rebuildIndex(): Promise<{ packs: number; blobs: number; damagedPacks: string[] }>;
  /** listBlobIds lists the IDs of every indexed blob of one type. */
  listBlobIds(type: PackEntry['type']): Promise<string[]>;
  /** forgottenSnapshots lists the tombstones `forget` left, so a rebuild does not revive them. */
  forgottenSnapshots(): Promise<Set<string>>;
}

/**
 * sealedBytes returns the bytes of one blob's BlobRead, or throws its problem as a
 * CumulusError: 'blob_missing' for a blob or pack that is not there, 'corrupt' for a
 * damaged pack. No answer at all for an ID is a bug of the implementation.
 */
export function sealedBytes(id: string, read: BlobRead | undefined): Buffer {
  if (read === undefined) throw new Error(`readBlobs gave no answer for blob ${id}`);
  if (read.ok) return read.bytes;
  throw new CumulusError(read.code === 'pack_damaged' ? 'corrupt' : 'blob_missing', read.reason, {
    hint: 'run `cumulus check` to see which snapshots and files are affected',
    details: { code: read.code, blob: id, ...(read.packId === undefined ? {} : { pack: read.packId }) },
  });
}

export type { BlobRead, IndexDelta, PackEntry, RepositoryConfig };
