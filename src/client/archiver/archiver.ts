/**
 * The archiver: backs up paths into a snapshot.
 *
 * walk sources → skip files unchanged since the parent snapshot (size, mtime, ctime,
 * inode) → chunk, ID and seal changed files in the worker pool, sealing only chunks the
 * repository lacks → fill packs → encode trees bottom-up → store the snapshot blob →
 * wait until every pack is durable → commit the snapshot with its references.
 *
 * A dry run walks the same way against the same parent but reads no file and writes
 * nothing: it says which files a backup would read, and how many bytes.
 */
import { type BigIntStats, lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { availableParallelism, hostname, userInfo } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { CumulusError } from '../../core/errors.ts';
import { freeNow } from '../../core/free-memory.ts';
import type { BlobType } from '../../core/pack.ts';
import { blobId, DEFAULT_ZSTD_LEVEL } from '../../core/seal.ts';
import { encodeSnapshot, type SnapshotInfo, type SnapshotSummary } from '../../core/snapshot.ts';
import { encodeTree, type TreeEntry } from '../../core/tree.ts';
import { type ExcludeMatcher, excludeMatcher } from '../excludes.ts';
import type { BlobReader, PackIngest, SnapshotIndex, WriteLeases } from '../repository.ts';
import type { UnlockedRepository } from '../unlocked-repository.ts';

/** ArchiverRepository is what a backup needs of a repository: read parent trees, store packs, lease, commit. */
export type ArchiverRepository = BlobReader & PackIngest & SnapshotIndex & WriteLeases;

import { ChunkPool, type ChunkSink } from './chunk-pool.ts';
import { PackWriter } from './pack-writer.ts';
import type { FileResult, SealedBatch } from './worker-protocol.ts';

/** SourceSpec is a path to back up with gitignore-style excludes of its own (relative to it). */
export interface SourceSpec {
  path: string;
  excludes: string[];
}

export interface BackupOptions {
  /** Files and folders to back up; a SourceSpec adds excludes that apply to that path only. */
  paths: (string | SourceSpec)[];
  /** Excludes that apply to every path. */
  excludes?: string[];
  tags?: string[];
  host?: string;
  /** Snapshot to compare against; by default the latest one of this host with the same source. */
  parent?: string;
  workers?: number;
  level?: number;
  signal?: AbortSignal;
  onEvent?: (event: BackupEvent) => void;
  /** Wall clock, injectable for tests. */
  now?: () => Date;
}

/** BackupCounters are the snapshot summary's counts, plus progress for the bar. */
export interface BackupCounters extends Omit<SnapshotSummary, 'durationMs'> {
  filesDone: number;
  bytesDone: number;
  /** Found by the walk so far (totals for the ETA). */
  filesSeen: number;
  bytesSeen: number;
}

export interface FileWarning {
  path: string;
  message: string;
}

export type BackupEvent =
  | { type: 'progress'; counters: BackupCounters; elapsedMs: number }
  | { type: 'warning'; warning: FileWarning };

/** DryRunResult is what a backup would do now: files it would read, per source and in all. */
export interface DryRunResult {
  summary: Omit<SnapshotSummary, 'durationMs' | 'bytesAdded'>;
  sources: { path: string; filesToRead: number; bytesToRead: number }[];
  warnings: FileWarning[];
}

export interface BackupResult {
  snapshotId: string;
  summary: SnapshotInfo['summary'];
  warnings: FileWarning[];
  packs: number;
}

interface ParentSource {
  tree: string;
}

interface SourceState {
  path: string;
  id: string;
  refs: Set<string>;
  logicalBytes: number;
  exclude: ExcludeMatcher;
  /** New and changed files, which the backup reads. */
  filesToRead: number;
  bytesToRead: number;
}

const PROGRESS_INTERVAL_MS = 200;
const SMALL_BATCH_FILES = 256;
const SMALL_BATCH_BYTES = 4 << 20;

function statOrMissing(path: string): BigIntStats {
  try {
    return lstatSync(path, { bigint: true });
  } catch (error) {
    throw new CumulusError('source_missing', `cannot back up ${path}: ${(error as Error).message}`, {
      hint: 'check the path; nothing was written',
      cause: error,
    });
  }
}

function modeOf(stats: BigIntStats): number {
  return Number(stats.mode & 0o7777n);
}

function unchanged(
  previous: TreeEntry | undefined,
  stats: BigIntStats,
): previous is TreeEntry & { type: 'file' } {
  return (
    previous?.type === 'file' &&
    previous.size === Number(stats.size) &&
    previous.mtimeNs === stats.mtimeNs.toString() &&
    previous.ctimeNs === stats.ctimeNs.toString() &&
    previous.ino === stats.ino.toString()
  );
}

/**
 * Archiver runs one backup. It is single-use: construct, `run()`, done.
 */
class Archiver implements ChunkSink {
  readonly #vault: UnlockedRepository<ArchiverRepository>;
  readonly #options: BackupOptions;
  readonly #dryRun: boolean;
  #workers: ChunkPool | undefined;
  readonly #packs: PackWriter;
  readonly #inFlight = new Set<string>();
  readonly #warnings: FileWarning[] = [];
  /** Entries whose file could not be read; they are dropped from their tree. */
  readonly #unreadable = new WeakSet<TreeEntry>();
  readonly #started = Date.now();
  #lastProgress = 0;
  readonly counters: BackupCounters = {
    filesNew: 0,
    filesChanged: 0,
    filesUnchanged: 0,
    dirs: 0,
    bytesRead: 0,
    bytesAdded: 0,
    logicalBytes: 0,
    filesDone: 0,
    bytesDone: 0,
    filesSeen: 0,
    bytesSeen: 0,
  };

  constructor(vault: UnlockedRepository<ArchiverRepository>, options: BackupOptions, dryRun = false) {
    this.#vault = vault;
    this.#options = options;
    this.#dryRun = dryRun;
    this.#packs = new PackWriter(vault.repo, {
      onStored: (ids) => {
        for (const id of ids) this.#inFlight.delete(id);
      },
    });
  }

  /**
   * The chunk workers start with the first file that must be read (an unchanged re-backup
   * starts none) and are closed when run() ends, so a failed backup leaves no thread behind.
   */
  get #pool(): ChunkPool {
    this.#workers ??= new ChunkPool(
      {
        keys: this.#vault.keys,
        chunker: this.#vault.config.chunker,
        level: this.#options.level ?? DEFAULT_ZSTD_LEVEL,
      },
      this,
      { workers: this.#options.workers ?? availableParallelism() },
    );
    return this.#workers;
  }

  /** need claims the chunk IDs that are neither stored nor already on their way into a pack. */
  async need(ids: string[]): Promise<boolean[]> {
    this.#checkAborted();
    const unknown = ids.filter((id) => !this.#inFlight.has(id));
    const missing = unknown.length > 0 ? await this.#vault.repo.missingBlobs(unknown) : new Set<string>();
    return ids.map((id) => {
      if (!missing.has(id) || this.#inFlight.has(id)) return false;
      this.#inFlight.add(id);
      return true;
    });
  }

  async accept(batch: SealedBatch): Promise<void> {
    const { ids, bytes, ends } = batch;
    for (let i = 0; i < ids.length; i++)
      await this.#store('data', ids[i], bytes.subarray(ends[i - 1] ?? 0, ends[i]));
    // The packs hold copies, and the worker handed this memory over: free it now.
    freeNow(bytes);
  }

  async #store(type: BlobType, id: string, sealed: Uint8Array): Promise<void> {
    this.counters.bytesAdded += sealed.length;
    await this.#packs.add(type, id, sealed);
  }

  /**
   * storeMeta stores a tree or snapshot blob unless the repository already has it. A tree
   * equal to the parent snapshot's (`known`) is referenced by that snapshot: no need to ask.
   */
  async #storeMeta(type: BlobType, plaintext: Uint8Array, known?: string): Promise<string> {
    const id = blobId(this.#vault.keys.blobId, plaintext);
    if (id === known || this.#dryRun) return id;
    const [needed] = await this.need([id]);
    if (needed) await this.#store(type, id, this.#vault.seal(id, plaintext));
    return id;
  }

  #warn(path: string, message: string): void {
    const warning = { path, message };
    this.#warnings.push(warning);
    this.#options.onEvent?.({ type: 'warning', warning });
  }

  #checkAborted(): void {
    const signal = this.#options.signal;
    if (signal?.aborted)
      throw new CumulusError('partial', 'backup stopped before it finished', { cause: signal.reason });
  }

  #progress(force = false): void {
    const now = Date.now();
    if (!force && now - this.#lastProgress < PROGRESS_INTERVAL_MS) return;
    this.#lastProgress = now;
    this.#options.onEvent?.({
      type: 'progress',
      counters: { ...this.counters },
      elapsedMs: now - this.#started,
    });
  }

  async #parents(host: string, sources: { id: string }[]): Promise<Map<string, ParentSource>> {
    const parents = new Map<string, ParentSource>();
    const snapshots = await this.#vault.listSnapshots();
    const chosen =
      this.#options.parent === undefined
        ? snapshots.filter((s) => s.info.host === host)
        : [await this.#vault.findSnapshot(this.#options.parent)];
    for (const snapshot of chosen) {
      for (const source of snapshot.record.sources) parents.set(source.id, { tree: source.tree });
    }
    return parents.size === 0
      ? parents
      : new Map([...parents].filter(([id]) => sources.some((s) => s.id === id)));
  }

  async #prepare(): Promise<{ host: string; sources: SourceState[]; parents: Map<string, ParentSource> }> {
    const host = this.#options.host ?? hostname();
    const specs = new Map<string, string[]>();
    for (const p of this.#options.paths) {
      const spec = typeof p === 'string' ? { path: p, excludes: [] } : p;
      const path = resolve(spec.path);
      specs.set(path, [...(specs.get(path) ?? []), ...spec.excludes]);
    }
    if (specs.size === 0)
      throw new CumulusError('usage', 'nothing to back up', { hint: 'name at least one path' });
    for (const path of specs.keys()) statOrMissing(path);
    const sources: SourceState[] = [...specs].map(([path, excludes]) => ({
      path,
      id: this.#vault.sourceId(host, path),
      refs: new Set<string>(),
      logicalBytes: 0,
      exclude: excludeMatcher([...(this.#options.excludes ?? []), ...excludes]),
      filesToRead: 0,
      bytesToRead: 0,
    }));
    return { host, sources, parents: await this.#parents(host, sources) };
  }

  async #walk(
    sources: SourceState[],
    parents: Map<string, ParentSource>,
  ): Promise<{ id: string; path: string; tree: string }[]> {
    const roots: { id: string; path: string; tree: string }[] = [];
    for (const source of sources) {
      const tree = await this.#sourceRoot(source, parents.get(source.id)?.tree);
      source.refs.add(tree);
      roots.push({ id: source.id, path: source.path, tree });
    }
    return roots;
  }

  async dryRun(): Promise<DryRunResult> {
    const { sources, parents } = await this.#prepare();
    await this.#walk(sources, parents);
    const { filesDone, bytesDone, filesSeen, bytesSeen, bytesAdded, ...summary } = this.counters;
    return {
      summary,
      sources: sources.map((s) => ({ path: s.path, filesToRead: s.filesToRead, bytesToRead: s.bytesToRead })),
      warnings: this.#warnings,
    };
  }

  async run(): Promise<BackupResult> {
    const time = (this.#options.now?.() ?? new Date()).toISOString();
    const { host, sources, parents } = await this.#prepare();
    const session = await this.#vault.repo.beginWrite();
    try {
      const roots = await this.#walk(sources, parents);
      const { filesDone, bytesDone, filesSeen, bytesSeen, ...counts } = this.counters;
      const summary: SnapshotSummary = { ...counts, durationMs: Date.now() - this.#started };
      const parentSnapshot = parents.size > 0 ? await this.#latestParentId(host) : null;
      const info: SnapshotInfo = {
        v: 1,
        time,
        host,
        user: userInfo().username,
        tags: this.#options.tags ?? [],
        parent: parentSnapshot,
        sources: roots,
        summary,
      };
      const snapshotId = await this.#storeMeta('snapshot', encodeSnapshot(info));
      await this.#packs.flush();
      this.#checkAborted();
      await this.#vault.repo.commitSnapshot({
        id: snapshotId,
        time,
        sources: sources.map((s, i) => ({
          id: s.id,
          tree: roots[i].tree,
          logicalSize: s.logicalBytes,
          refs: [...s.refs],
        })),
      });
      summary.durationMs = Date.now() - this.#started;
      this.#progress(true);
      return { snapshotId, summary, warnings: this.#warnings, packs: this.#packs.packs };
    } catch (error) {
      // Whatever was sealed is kept: the next backup finds it and does not send it again.
      await this.#packs.flush().catch(() => {});
      throw error;
    } finally {
      await this.#workers?.close();
      await session.release();
    }
  }

  async #latestParentId(host: string): Promise<string | null> {
    if (this.#options.parent !== undefined)
      return (await this.#vault.findSnapshot(this.#options.parent)).record.id;
    const mine = (await this.#vault.listSnapshots()).filter((s) => s.info.host === host);
    return mine.at(-1)?.record.id ?? null;
  }

  /** sourceRoot returns the root tree of a source: its directory, or a tree holding the single file. */
  async #sourceRoot(source: SourceState, parentTree: string | undefined): Promise<string> {
    const parent = parentTree === undefined ? undefined : await this.#vault.readTree(parentTree);
    const stats = statOrMissing(source.path);
    if (stats.isDirectory()) {
      this.counters.dirs++;
      const { tree } = await this.#directory(source, source.path, '', parent, parentTree);
      return tree;
    }
    const { entries, done } = await this.#entries(
      source,
      [{ abs: source.path, rel: basename(source.path), name: basename(source.path), stats }],
      parent,
    );
    await done;
    return this.#storeMeta('tree', encodeTree(entries()), parentTree);
  }

  /**
   * directory walks one directory: it queues its files, walks its subdirectories, and
   * returns once everything below is queued, with the promise of the tree ID. The walk is
   * held back by the pool's queue, so memory follows the work in flight, not the tree.
   */
  async #directory(
    source: SourceState,
    abs: string,
    rel: string,
    parent: TreeEntry[] | undefined,
    parentTree: string | undefined,
  ): Promise<{ tree: Promise<string> }> {
    this.#checkAborted();
    let names: string[];
    try {
      names = readdirSync(abs);
    } catch (error) {
      this.#warn(abs, `cannot read directory: ${(error as Error).message}`);
      names = [];
    }
    const children: { abs: string; rel: string; name: string; stats: BigIntStats }[] = [];
    for (const name of names) {
      const childAbs = join(abs, name);
      const childRel = rel === '' ? name : `${rel}/${name}`;
      let stats: BigIntStats;
      try {
        stats = lstatSync(childAbs, { bigint: true });
      } catch (error) {
        this.#warn(childAbs, `cannot stat: ${(error as Error).message}`);
        continue;
      }
      if (source.exclude(childRel, stats.isDirectory())) continue;
      children.push({ abs: childAbs, rel: childRel, name, stats });
    }
    const { entries, done } = await this.#entries(source, children, parent);
    const tree = done.then(() => this.#storeMeta('tree', encodeTree(entries()), parentTree));
    // Awaited by the parent later; a failure must not count as unhandled meanwhile.
    tree.catch(() => {});
    return { tree };
  }

  async #entries(
    source: SourceState,
    children: { abs: string; rel: string; name: string; stats: BigIntStats }[],
    parent: TreeEntry[] | undefined,
  ): Promise<{ entries: () => TreeEntry[]; done: Promise<unknown> }> {
    const previous = new Map(parent?.map((e) => [e.name, e]));
    const entries: TreeEntry[] = [];
    const pendingFiles: Promise<void>[] = [];
    const pending = (work: Promise<void>): void => {
      // Awaited through `done`; when the walk fails before `done` exists (a stopped backup
      // waiting for room in the queue), a failed one must not count as unhandled meanwhile.
      work.catch(() => {});
      pendingFiles.push(work);
    };
    let batch: { entry: TreeEntry & { type: 'file' }; abs: string; isNew: boolean }[] = [];
    let batchBytes = 0;
    const flushBatch = async () => {
      if (batch.length === 0) return;
      const files = batch;
      batch = [];
      batchBytes = 0;
      const { result } = await this.#pool.chunk(
        files.map((f) => f.abs),
        false,
      );
      pending(
        result.then((r) => {
          for (const [i, f] of files.entries()) this.#fileDone(source, f.entry, f.abs, f.isNew, r[i]);
        }),
      );
    };

    for (const child of children) {
      const { stats, name, abs } = child;
      const base = { name, mode: modeOf(stats), mtimeNs: stats.mtimeNs.toString() };
      if (stats.isFile()) {
        const size = Number(stats.size);
        this.counters.filesSeen++;
        this.counters.bytesSeen += size;
        const old = previous.get(name);
        if (unchanged(old, stats)) {
          const entry = { ...old, ...base };
          entries.push(entry);
          this.counters.filesUnchanged++;
          this.#fileDone(source, entry, abs, false, undefined);
          continue;
        }
        const entry: TreeEntry & { type: 'file' } = {
          ...base,
          type: 'file',
          size,
          ctimeNs: stats.ctimeNs.toString(),
          ino: stats.ino.toString(),
          chunks: [],
        };
        entries.push(entry);
        const isNew = old === undefined;
        if (this.#dryRun) {
          this.#fileDone(source, entry, abs, isNew, { chunks: [], bytesRead: size });
        } else if (size > this.#vault.config.chunker.min) {
          const { result } = await this.#pool.chunk([abs], true);
          pending(result.then(([r]) => this.#fileDone(source, entry, abs, isNew, r)));
        } else {
          batch.push({ entry, abs, isNew });
          batchBytes += size;
          if (batch.length >= SMALL_BATCH_FILES || batchBytes >= SMALL_BATCH_BYTES) await flushBatch();
        }
      } else if (stats.isSymbolicLink()) {
        try {
          entries.push({ ...base, type: 'symlink', target: readlinkSync(abs) });
        } catch (error) {
          this.#warn(abs, `cannot read link: ${(error as Error).message}`);
        }
      } else if (!stats.isDirectory()) {
        this.#warn(abs, 'skipped: not a regular file, directory or symbolic link');
      }
    }
    await flushBatch();
    await this.#vault.prefetchTrees(
      children.flatMap((c) => {
        const old = previous.get(c.name);
        return c.stats.isDirectory() && old?.type === 'dir' ? [old.tree] : [];
      }),
    );
    for (const child of children) {
      if (!child.stats.isDirectory()) continue;
      this.counters.dirs++;
      const old = previous.get(child.name);
      const oldTree = old?.type === 'dir' ? await this.#vault.readTree(old.tree) : undefined;
      const { tree } = await this.#directory(
        source,
        child.abs,
        child.rel,
        oldTree,
        old?.type === 'dir' ? old.tree : undefined,
      );
      const entry: TreeEntry & { type: 'dir' } = {
        name: child.name,
        mode: modeOf(child.stats),
        mtimeNs: child.stats.mtimeNs.toString(),
        type: 'dir',
        tree: '',
      };
      entries.push(entry);
      pending(
        tree.then((id) => {
          entry.tree = id;
          source.refs.add(id);
        }),
      );
    }
    // The walk goes on to the next directory at once: this one's tree is encoded when its
    // files and subdirectories are done, while the workers stay busy with the next ones.
    const done = Promise.all(pendingFiles);
    done.catch(() => {});
    return {
      done,
      // Unreadable files are left out of the snapshot; they were reported as warnings.
      entries: () => entries.filter((e) => e.type !== 'file' || !this.#unreadable.has(e)),
    };
  }

  #fileDone(
    source: SourceState,
    entry: TreeEntry & { type: 'file' },
    abs: string,
    isNew: boolean,
    result: FileResult | undefined,
  ): void {
    if (result !== undefined) {
      this.counters.bytesRead += result.bytesRead;
      if (result.error !== undefined) {
        this.#warn(abs, `cannot read: ${result.error}`);
        this.#unreadable.add(entry);
        return;
      }
      source.filesToRead++;
      source.bytesToRead += result.bytesRead;
      entry.chunks = result.chunks;
      entry.size = result.bytesRead;
      if (isNew) this.counters.filesNew++;
      else this.counters.filesChanged++;
    }
    for (const id of entry.chunks) source.refs.add(id);
    source.logicalBytes += entry.size;
    this.counters.logicalBytes += entry.size;
    this.counters.filesDone++;
    this.counters.bytesDone += entry.size;
    this.#progress();
  }
}

/** backup runs one backup of `options.paths` into the repository and commits a snapshot. */
export async function backup(
  vault: UnlockedRepository<ArchiverRepository>,
  options: BackupOptions,
): Promise<BackupResult> {
  return new Archiver(vault, options).run();
}

/** dryRunBackup says what `backup` with these options would read now, without reading or writing anything. */
export async function dryRunBackup(
  vault: UnlockedRepository<ArchiverRepository>,
  options: Omit<BackupOptions, 'tags' | 'workers' | 'level' | 'now'>,
): Promise<DryRunResult> {
  return new Archiver(vault, options, true).dryRun();
}
