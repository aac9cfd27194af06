/**
 * UnlockedRepository is a repository together with the keys that open it: the one object
 * through which the archiver, restorer and checker read and write plaintext. `R` is the
 * roles of the repository it wraps (every repository by default); an engine names the
 * roles it needs, e.g. `UnlockedRepository<BlobReader>` for the restorer.
 */

import { CumulusError } from '../core/errors.ts';
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

/**
 * SealedCache keeps tree and snapshot blobs sealed as stored, by ID, on this device
 * (IndexCache): trees do not change, so a cached copy is as good as the repository's.
 */
export interface SealedCache {
  sealed(id: string): Buffer | undefined;
  keepSealed(blobs: Iterable<[string, Uint8Array]>): void;
  dropSealed(id: string): void;
}

export class UnlockedRepository<R extends BlobReader = Repository> {
  readonly repo: R;
  readonly keys: Subkeys;
  readonly config: RepositoryConfig;
  readonly #sealed: SealedCache | undefined;
  #trees = new Map<string, TreeEntry[]>();

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
      if (this.#trees.size > 4096) this.#trees.clear();
      this.#trees.set(id, tree);
    }
    return tree;
  }

  /** listSnapshots returns every snapshot, oldest first, with its description decrypted. */
  async listSnapshots(this: UnlockedRepository<BlobReader & SnapshotIndex>): Promise<Snapshot[]> {
    const records = await this.repo.listSnapshots();
    const opened = await this.#openMeta(records.map((r) => r.id));
    const snapshots: Snapshot[] = [];
    for (const record of records) {
      const plain = opened.get(record.id)!;
      if (plain instanceof Error) throw plain;
      snapshots.push({ record, info: decodeSnapshot(plain) });
    }
    return snapshots.sort((a, b) => a.record.time.localeCompare(b.record.time));
  }

  /**
   * findSnapshot resolves "latest" or an ID prefix (at least 4 hex characters). `latest`
   * may be narrowed to one host.
   */
  async findSnapshot(
    this: UnlockedRepository<BlobReader & SnapshotIndex>,
    ref: string,
    options: { host?: string } = {},
  ): Promise<Snapshot> {
    const all = await this.listSnapshots();
    if (ref === 'latest') {
      const candidates = options.host === undefined ? all : all.filter((s) => s.info.host === options.host);
      const latest = candidates.at(-1);
      if (latest === undefined) {
        throw new CumulusError('snapshot_not_found', 'there is no snapshot yet', {
          hint: 'run `cumulus backup` first',
        });
      }
      return latest;
    }
    if (!/^[0-9a-f]{4,64}$/.test(ref)) {
      throw new CumulusError('usage', `"${ref}" is not a snapshot ID`, {
        hint: 'use `latest` or an ID from `cumulus snapshots`',
      });
    }
    const matches = all.filter((s) => s.record.id.startsWith(ref));
    if (matches.length === 0) {
      throw new CumulusError('snapshot_not_found', `no snapshot has an ID starting with ${ref}`, {
        hint: 'list them with `cumulus snapshots`',
      });
    }
    if (matches.length > 1) {
      throw new CumulusError('usage', `${ref} matches ${matches.length} snapshots`, {
        hint: 'give more characters of the ID',
      });
    }
    return matches[0];
  }

  /** prefetchTrees reads many trees in one batched request and caches them (a directory's subtrees, say). */
  async prefetchTrees(ids: string[]): Promise<void> {
    const wanted = ids.filter((id) => !this.#trees.has(id));
    if (wanted.length < 2) return;
    // A tree that cannot be read is left out: readTree reports it when the walk reaches it.
    for (const [id, plain] of await this.#openMeta(wanted)) {
      if (!(plain instanceof Error)) this.#trees.set(id, decodeTree(plain));
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
