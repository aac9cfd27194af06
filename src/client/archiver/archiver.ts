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
import { CumulusError, isCumulusError } from '../../core/errors.ts';
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
import { FileSaver } from './file-saver.ts';
import { PackWriter } from './pack-writer.ts';
import { Scanner } from './scanner.ts';
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
  /**
   * What the backup walks in all: counted ahead by the scanner (never less than what the
   * walk found so far), final once `totalsFinal`.
   */
  filesTotal: number;
  bytesTotal: number;
  totalsFinal: boolean;
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
/** Child is one entry of a directory listing that is not excluded. */
interface Child {
  abs: string;
  rel: string;
  name: string;
  stats: BigIntStats;
}

/** FileJob is a file being read: where its result goes once the workers are done with it. */
interface FileJob {
  source: SourceState;
  entry: TreeEntry & { type: 'file' };
  abs: string;
  isNew: boolean;
}

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
    filesTotal: 0,
    bytesTotal: 0,
    totalsFinal: false,
  };
  /** Files the walk has found so far. */
  readonly #seen = { files: 0, bytes: 0 };
  #scanner: Scanner | undefined;
  readonly #files: FileSaver<FileJob>;

  constructor(vault: UnlockedRepository<ArchiverRepository>, options: BackupOptions, dryRun = false) {
    this.#vault = vault;
    this.#options = options;
    this.#dryRun = dryRun;
    this.#files = new FileSaver(
      () => this.#pool,
      vault.config.chunker.min,
      (job, result) => this.#fileDone(job, result),
    );
    this.#packs = new PackWriter(vault.repo, {
      onStored: (ids) => {
        for (const id of ids) this.#inFlight.delete(id);
      },
    });
  }

  /**
   * The chunk workers, and the scanner, start with the first file that must be read (an
   * unchanged re-backup starts neither) and are closed when run() ends, so a failed backup
   * leaves no thread behind.
   */
  get #pool(): ChunkPool {
    // Counting ahead pays only when there is work to measure: an unchanged re-backup, which
    // reads no file, walks its sources once instead of twice.
    if (this.#workers === undefined) this.#scanner?.start();
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
    const scanned = this.#scanner?.totals;
    const c = this.counters;
    c.filesTotal = Math.max(scanned?.files ?? 0, this.#seen.files);
    c.bytesTotal = Math.max(scanned?.bytes ?? 0, this.#seen.bytes, c.bytesDone);
    c.totalsFinal = scanned?.done ?? false;
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
    const { filesDone, bytesDone, filesTotal, bytesTotal, totalsFinal, bytesAdded, ...summary } =
      this.counters;
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
    this.#scanner = new Scanner(sources);
    try {
      const roots = await this.#walk(sources, parents);
      const { filesDone, bytesDone, filesTotal, bytesTotal, totalsFinal, ...counts } = this.counters;
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
      this.#scanner.stop();
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
      // The last files of the walk may wait in an unsent batch, and the root tree on them.
      await this.#files.flush();
      return tree;
    }
    const { entries, done } = await this.#entries(
      source,
      [{ abs: source.path, rel: basename(source.path), name: basename(source.path), stats }],
      parent,
    );
    await this.#files.flush();
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
    const { entries, done } = await this.#entries(source, this.#list(source, abs, rel), parent);
    const tree = done.then(() => this.#storeMeta('tree', encodeTree(entries()), parentTree));
    // Awaited by the parent later; a failure must not count as unhandled meanwhile.
    tree.catch(() => {});
    return { tree };
  }

  /** list returns a directory's children that are not excluded, with their metadata. */
  #list(source: SourceState, abs: string, rel: string): Child[] {
    let names: string[];
    try {
      names = readdirSync(abs);
    } catch (error) {
      this.#warn(abs, `cannot read directory: ${(error as Error).message}`);
      return [];
    }
    const children: Child[] = [];
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
    return children;
  }

  /**
   * entries makes the tree entries of a directory's children: files and symlinks first
   * (queueing the files to read), then the subdirectories, walked in turn. `done` settles
   * when every file and subtree below is stored.
   */
  async #entries(
    source: SourceState,
    children: Child[],
    parent: TreeEntry[] | undefined,
  ): Promise<{ entries: () => TreeEntry[]; done: Promise<unknown> }> {
    const previous = new Map(parent?.map((e) => [e.name, e]));
    const entries: TreeEntry[] = [];
    // One promise per batch of files, shared by the files of this directory in it.
    const pending = new Set<Promise<unknown>>();
    const track = (work: Promise<unknown>): void => {
      // Awaited through `done`; when the walk fails before `done` exists (a stopped backup
      // waiting for room in the queue), a failed one must not count as unhandled meanwhile.
      work.catch(() => {});
      pending.add(work);
    };
    for (const child of children) {
      if (child.stats.isDirectory()) continue;
      const entry = await this.#entry(source, child, previous.get(child.name), track);
      if (entry !== undefined) entries.push(entry);
    }
    await this.#subdirectories(source, children, previous, entries, track);
    // The walk goes on to the next directory at once: this one's tree is encoded when its
    // files and subdirectories are done, while the workers stay busy with the next ones.
    const done = Promise.all(pending);
    done.catch(() => {});
    return {
      done,
      // Unreadable files are left out of the snapshot; they were reported as warnings.
      entries: () => entries.filter((e) => e.type !== 'file' || !this.#unreadable.has(e)),
    };
  }

  /** entry makes the tree entry of a file or symlink (undefined for what is skipped, with a warning). */
  async #entry(
    source: SourceState,
    child: Child,
    old: TreeEntry | undefined,
    track: (work: Promise<unknown>) => void,
  ): Promise<TreeEntry | undefined> {
    const { stats, name, abs } = child;
    const base = { name, mode: modeOf(stats), mtimeNs: stats.mtimeNs.toString() };
    if (stats.isFile()) return this.#file(source, child, base, old, track);
    if (stats.isSymbolicLink()) {
      try {
        return { ...base, type: 'symlink', target: readlinkSync(abs) };
      } catch (error) {
        this.#warn(abs, `cannot read link: ${(error as Error).message}`);
        return undefined;
      }
    }
    this.#warn(abs, 'skipped: not a regular file, directory or symbolic link');
    return undefined;
  }

  /**
   * file makes a file's entry: an unchanged one keeps the parent's chunk list; a new or
   * changed one is queued to be read (a dry run only counts it).
   */
  async #file(
    source: SourceState,
    child: Child,
    base: { name: string; mode: number; mtimeNs: string },
    old: TreeEntry | undefined,
    track: (work: Promise<unknown>) => void,
  ): Promise<TreeEntry> {
    const { stats, abs } = child;
    const size = Number(stats.size);
    this.#seen.files++;
    this.#seen.bytes += size;
    if (unchanged(old, stats)) {
      const entry = { ...old, ...base };
      this.counters.filesUnchanged++;
      this.#fileDone({ source, entry, abs, isNew: false }, undefined);
      return entry;
    }
    const entry: TreeEntry & { type: 'file' } = {
      ...base,
      type: 'file',
      size,
      ctimeNs: stats.ctimeNs.toString(),
      ino: stats.ino.toString(),
      chunks: [],
    };
    const job = { source, entry, abs, isNew: old === undefined };
    if (this.#dryRun) this.#fileDone(job, { chunks: [], bytesRead: size });
    else track((await this.#files.save(abs, size, job)).done);
    return entry;
  }

  /** subdirectories walks the subdirectories of a directory, their parent trees fetched in one request. */
  async #subdirectories(
    source: SourceState,
    children: Child[],
    previous: Map<string, TreeEntry>,
    entries: TreeEntry[],
    track: (work: Promise<unknown>) => void,
  ): Promise<void> {
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
      track(
        tree.then((id) => {
          entry.tree = id;
          source.refs.add(id);
        }),
      );
    }
  }

  /** fileDone counts a file once it is stored (or unchanged), with the worker's result for a file read. */
  #fileDone({ source, entry, abs, isNew }: FileJob, result: FileResult | undefined): void {
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

/**
 * backup runs one backup of `options.paths` into the repository and commits a snapshot.
 * A commit refused because the device's index cache believed in blobs the repository no
 * longer holds (collected meanwhile) has corrected the cache; the backup then runs once
 * more, which reads only what changed since the parent and uploads what is missing.
 */
export async function backup(
  vault: UnlockedRepository<ArchiverRepository>,
  options: BackupOptions,
): Promise<BackupResult> {
  try {
    return await new Archiver(vault, options).run();
  } catch (error) {
    if (!isCumulusError(error, 'blob_missing') || error.details?.cacheCorrected !== true) throw error;
    return new Archiver(vault, options).run();
  }
}

/** dryRunBackup says what `backup` with these options would read now, without reading or writing anything. */
export async function dryRunBackup(
  vault: UnlockedRepository<ArchiverRepository>,
  options: Omit<BackupOptions, 'tags' | 'workers' | 'level' | 'now'>,
): Promise<DryRunResult> {
  return new Archiver(vault, options, true).dryRun();
}
