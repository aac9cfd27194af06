/**
 * CachedRepository decorates a Repository's pack ingest with the device's IndexCache:
 * `missingBlobs` catches the cache up once (blobsSince: what other devices, or earlier
 * runs, added since) and then answers from it, with no request; `putPack` records what
 * the repository has just stored. The repository stays the authority: a commit it
 * refuses for blobs it does not hold (collected since the cache learnt of them) corrects
 * the cache, and the error says so (`details.cacheCorrected`), so that the backup, run
 * once more, uploads them. Every other call goes straight to the repository.
 */
import { CumulusError, isCumulusError } from '../core/errors.ts';
import type { SnapshotCommit, SnapshotRecord, UsageReport } from '../store/types.ts';
import { IndexCache, type SyncReport } from './index-cache.ts';
import type { BlobRead, IndexDelta, Repository, RepositoryConfig, WriteSession } from './repository.ts';
import { UnlockedRepository } from './unlocked-repository.ts';

export class CachedRepository implements Repository {
  readonly location: string;
  readonly inner: Repository;
  readonly cache: IndexCache;
  #synced: Promise<SyncReport> | undefined;

  constructor(inner: Repository, cache: IndexCache) {
    this.inner = inner;
    this.location = inner.location;
    this.cache = cache;
  }

  /** synced catches the cache up with the repository, once per run (again after a refused commit). */
  synced(): Promise<SyncReport> {
    if (this.#synced === undefined) {
      const sync = this.cache.sync(this.inner);
      // A failed catch-up (a dropped connection) is tried again at the next question.
      sync.catch(() => {
        if (this.#synced === sync) this.#synced = undefined;
      });
      this.#synced = sync;
    }
    return this.#synced;
  }

  async missingBlobs(ids: string[]): Promise<Set<string>> {
    await this.synced();
    return this.cache.missing(ids) ?? this.inner.missingBlobs(ids);
  }

  async putPack(pack: Uint8Array, packId: string): Promise<void> {
    await this.inner.putPack(pack, packId);
    this.cache.addPack(pack);
  }

  async commitSnapshot(commit: SnapshotCommit): Promise<void> {
    try {
      await this.inner.commitSnapshot(commit);
    } catch (error) {
      if (!isCumulusError(error, 'blob_missing')) throw error;
      const named = error.details?.ids;
      const ids = Array.isArray(named) ? named.filter((id): id is string => typeof id === 'string') : [];
      const count = typeof error.details?.count === 'number' ? error.details.count : Number.POSITIVE_INFINITY;
      this.cache.forget(ids, count > ids.length);
      this.#synced = undefined;
      throw new CumulusError('blob_missing', error.message, {
        hint: error.hint,
        details: { ...error.details, cacheCorrected: true },
        cause: error,
      });
    }
  }

  config(): Promise<RepositoryConfig> {
    return this.inner.config();
  }
  beginWrite(): Promise<WriteSession> {
    return this.inner.beginWrite();
  }
  blobsSince(cursor: number): Promise<IndexDelta> {
    return this.inner.blobsSince(cursor);
  }
  readBlobs(ids: readonly string[]): Promise<Map<string, BlobRead>> {
    return this.inner.readBlobs(ids);
  }
  listSnapshots(): Promise<SnapshotRecord[]> {
    return this.inner.listSnapshots();
  }
  forgetSnapshots(ids: string[]): Promise<void> {
    return this.inner.forgetSnapshots(ids);
  }
  usage(): Promise<UsageReport> {
    return this.inner.usage();
  }
  async close(): Promise<void> {
    this.cache.close();
    await this.inner.close();
  }
}

/**
 * withIndexCache returns the vault with this device's cache of its repository's index in
 * front (under `dir`, see cacheDir): pack ingest through CachedRepository, tree and
 * snapshot blobs through the cache's sealed copies. Closing its repository closes the cache.
 */
export function withIndexCache(vault: UnlockedRepository, dir: string): UnlockedRepository {
  const cache = IndexCache.open(dir, vault.config.id);
  return new UnlockedRepository(new CachedRepository(vault.repo, cache), vault.keys, vault.config, cache);
}
