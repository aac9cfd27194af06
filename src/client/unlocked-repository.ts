/**
 * UnlockedRepository is a repository together with the keys that open it: the one object
 * through which the archiver, restorer and checker read and write plaintext. `R` is the
 * roles of the repository it wraps (every repository by default); an engine names the
 * roles it needs, e.g. `UnlockedRepository<BlobReader>` for the restorer.
 */

import { CumulusError, isCumulusError } from '../core/errors.ts';
import { type Subkeys, sourceIdOf } from '../core/keys.ts';
import { openBlob, sealBlob } from '../core/seal.ts';
import { decodeSnapshot, type SnapshotInfo } from '../core/snapshot.ts';
import { decodeTree, type TreeEntry } from '../core/tree.ts';
import type { SnapshotRecord } from '../store/types.ts';
import {
  type BlobReader,
  type Repository,
  type RepositoryConfig,
  type SnapshotIndex,
  sealedBytes,
} from './repository.ts';

/** Snapshot is what a person sees of a snapshot: the store's record and its decrypted description. */
export interface Snapshot {
  record: SnapshotRecord;
  info: SnapshotInfo;
}

/** UnreadableSnapshot is a snapshot the store lists whose description cannot be opened, and why. */
export interface UnreadableSnapshot {
  record: SnapshotRecord;
  reason: string;
}

/** SnapshotListing is every snapshot of a repository: the readable ones and the others. */
export interface SnapshotListing {
  snapshots: Snapshot[];
  unreadable: UnreadableSnapshot[];
}

/**
 * SealedCache keeps tree and snapshot blobs sealed as stored, by ID, on this device
 * (IndexCache): trees do not change, so a cached copy is as good as the repository's.
 */
export interface SealedCache {
  sealed(id: string): Buffer | undefined;
  keepSealed(blobs: Iterable<[string, Uint8Array]>): void;
  dropSealed(id: string): void;
}

/**
 * resolveSnapshot finds what `ref` names in a listing (see findSnapshot): a readable
 * snapshot, or an unreadable one when an ID prefix names exactly that one.
 */
function resolveSnapshot(
  { snapshots: all, unreadable }: SnapshotListing,
  ref: string,
  options: { host?: string; onSkipped?: (skipped: UnreadableSnapshot) => void },
): Snapshot | UnreadableSnapshot {
  if (ref === 'latest') {
    const candidates = options.host === undefined ? all : all.filter((s) => s.info.host === options.host);
    const latest = candidates.at(-1);
    if (latest === undefined) {
      throw new CumulusError('snapshot_not_found', 'there is no snapshot yet', {
        hint:
          unreadable.length > 0
            ? 'run `cumulus check`: no snapshot can be read'
            : 'run `cumulus backup` first',
      });
    }
    for (const skipped of unreadable)
      if (skipped.record.time > latest.record.time) options.onSkipped?.(skipped);
    return latest;
  }
  if (!/^[0-9a-f]{4,64}$/.test(ref)) {
    throw new CumulusError('usage', `"${ref}" is not a snapshot ID`, {
      hint: 'use `latest` or an ID from `cumulus snapshots`',
    });
  }
  const matches = [...all, ...unreadable].filter((s) => s.record.id.startsWith(ref));
  if (matches.length > 1) {
    throw new CumulusError('usage', `${ref} matches ${matches.length} snapshots`, {
      hint: 'give more characters of the ID',
    });
  }
  if (matches.length === 0) {
    throw new CumulusError('snapshot_not_found', `no snapshot has an ID starting with ${ref}`, {
      hint: 'list them with `cumulus snapshots`',
    });
  }
  return matches[0];
}

/**
 * TREE_CACHE_ENTRIES bounds the decoded trees kept, in entries rather than trees (a folder
 * may hold ten entries or ten thousand): enough for the trees of a source tree of a few
 * hundred thousand files, so a restore that counts its totals first reads each tree once.
 */
const TREE_CACHE_ENTRIES = 1 << 18;

export class UnlockedRepository<R extends BlobReader = Repository> {
  readonly repo: R;
  readonly keys: Subkeys;
  readonly config: RepositoryConfig;
  readonly #sealed: SealedCache | undefined;
  #trees = new Map<string, TreeEntry[]>();
  #treeEntries = 0;

  constructor(repo: R, keys: Subkeys, config: RepositoryConfig, sealed?: SealedCache) {
    this.repo = repo;
    this.keys = keys;
    this.config = config;
    this.#sealed = sealed;
  }

  /**
   * #openMeta opens tree and snapshot blobs: from the device's cache of sealed blobs where
   * it has them (an unchanged re-backup then reads no tree from the repository), else from
   * the repository, keeping what it read. A cached copy that does not open (damaged on
   * disk) is dropped and read from the repository instead. Each ID maps to its plaintext
   * or to the error that reading or opening it raised.
   */
  async #openMeta(ids: readonly string[]): Promise<Map<string, Buffer | Error>> {
    const opened = new Map<string, Buffer | Error>();
    const fetch: string[] = [];
    for (const id of new Set(ids)) {
      const cached = this.#sealed?.sealed(id);
      if (cached === undefined) {
        fetch.push(id);
        continue;
      }
      try {
        opened.set(id, openBlob(this.keys, id, cached));
      } catch {
        this.#sealed?.dropSealed(id);
        fetch.push(id);
      }
    }
    if (fetch.length === 0) return opened;
    const reads = await this.repo.readBlobs(fetch);
    const keep: [string, Buffer][] = [];
    for (const id of fetch) {
      try {
        const bytes = sealedBytes(id, reads.get(id));
        opened.set(id, openBlob(this.keys, id, bytes));
        keep.push([id, bytes]);
      } catch (error) {
        opened.set(id, error as Error);
      }
    }
    this.#sealed?.keepSealed(keep);
    return opened;
  }

  async #openOne(id: string): Promise<Buffer> {
    const plain = (await this.#openMeta([id])).get(id)!;
    if (plain instanceof Error) throw plain;
    return plain;
  }

  sourceId(host: string, path: string): string {
    return sourceIdOf(this.keys, host, path);
  }

  seal(id: string, plaintext: Uint8Array): Buffer {
    return sealBlob(this.keys, id, plaintext);
  }

  async readPlain(id: string): Promise<Buffer> {
    return openBlob(this.keys, id, sealedBytes(id, (await this.repo.readBlobs([id])).get(id)));
  }

  /** readTree returns a directory's entries; trees are small and re-read often, so they are cached. */
  async readTree(id: string): Promise<TreeEntry[]> {
    let tree = this.#trees.get(id);
    if (tree === undefined) {
      tree = decodeTree(await this.#openOne(id));
      this.#remember(id, tree);
    }
    return tree;
  }

  /** remember caches a decoded tree, starting the cache afresh once it holds TREE_CACHE_ENTRIES entries. */
  #remember(id: string, tree: TreeEntry[]): void {
    if (this.#treeEntries + tree.length > TREE_CACHE_ENTRIES) {
      this.#trees.clear();
      this.#treeEntries = 0;
    }
    this.#trees.set(id, tree);
    this.#treeEntries += tree.length;
  }

  /**
   * readSnapshots returns every snapshot whose description opens, oldest first, and apart
   * the ones whose description is lost or damaged (its pack missing, say): one bad pack
   * must not hide every other snapshot.
   */
  async readSnapshots(this: UnlockedRepository<BlobReader & SnapshotIndex>): Promise<SnapshotListing> {
    const records = await this.repo.listSnapshots();
    const opened = await this.#openMeta(records.map((r) => r.id));
    const snapshots: Snapshot[] = [];
    const unreadable: UnreadableSnapshot[] = [];
    for (const record of records) {
      const plain = opened.get(record.id)!;
      if (plain instanceof Error) {
        if (!isCumulusError(plain)) throw plain;
        unreadable.push({ record, reason: plain.message });
      } else snapshots.push({ record, info: decodeSnapshot(plain) });
    }
    snapshots.sort((a, b) => a.record.time.localeCompare(b.record.time));
    return { snapshots, unreadable };
  }

  /**
   * listSnapshots returns every snapshot whose description opens, oldest first. When there
   * are snapshots and none opens, the key is wrong (or every pack is gone): that is an
   * error, not an empty repository a backup would start afresh in.
   */
  async listSnapshots(this: UnlockedRepository<BlobReader & SnapshotIndex>): Promise<Snapshot[]> {
    const { snapshots, unreadable } = await this.readSnapshots();
    if (snapshots.length === 0 && unreadable.length > 0) {
      throw new CumulusError('corrupt', `no snapshot can be read: ${unreadable[0].reason}`, {
        hint: 'check that this is the right repository and key (`cumulus doctor` on an account), then `cumulus check`',
      });
    }
    return snapshots;
  }

  /**
   * findSnapshot resolves "latest" or an ID prefix (at least 4 hex characters). `latest`
   * may be narrowed to one host; it is the newest snapshot that can be read, and
   * `onSkipped` hears of every newer one whose description cannot. A prefix that names an
   * unreadable snapshot is an error that says why.
   */
  async findSnapshot(
    this: UnlockedRepository<BlobReader & SnapshotIndex>,
    ref: string,
    options: { host?: string; onSkipped?: (skipped: UnreadableSnapshot) => void } = {},
  ): Promise<Snapshot> {
    const found = resolveSnapshot(await this.readSnapshots(), ref, options);
    if ('info' in found) return found;
    throw new CumulusError(
      'blob_missing',
      `snapshot ${found.record.id.slice(0, 8)} cannot be read: ${found.reason}`,
      { hint: '`cumulus check` names the damage; restore an older snapshot from `cumulus snapshots`' },
    );
  }

  /**
   * findSnapshotId resolves a reference like findSnapshot but also to a snapshot whose
   * description cannot be read, so a damaged snapshot can still be forgotten.
   */
  async findSnapshotId(this: UnlockedRepository<BlobReader & SnapshotIndex>, ref: string): Promise<string> {
    return resolveSnapshot(await this.readSnapshots(), ref, {}).record.id;
  }

  /** prefetchTrees reads many trees in one batched request and caches them (a directory's subtrees, say). */
  async prefetchTrees(ids: string[]): Promise<void> {
    const wanted = ids.filter((id) => !this.#trees.has(id));
    if (wanted.length < 2) return;
    // A tree that cannot be read is left out: readTree reports it when the walk reaches it.
    for (const [id, plain] of await this.#openMeta(wanted)) {
      if (!(plain instanceof Error)) this.#remember(id, decodeTree(plain));
    }
  }

  /**
   * walk visits every entry under a tree, depth first, parents before children, with the
   * path relative to the root ('' is the root itself and is not visited).
   */
  async *walk(treeId: string, prefix = ''): AsyncGenerator<{ path: string; entry: TreeEntry }> {
    for (const entry of await this.readTree(treeId)) {
      const path = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
      yield { path, entry };
      if (entry.type === 'dir') yield* this.walk(entry.tree, path);
    }
  }
}
