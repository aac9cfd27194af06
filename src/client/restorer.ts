/**
 * The restorer: writes a snapshot (or the parts of it an `--include` selects) into a
 * target folder with contents, modes, mtimes, symlinks and empty directories. The main
 * thread walks the trees, makes folders and links and reads sealed blobs; a BlobPool's
 * workers open them (every blob is verified against its ID) and write the files. A file
 * whose data is damaged or cannot be read is left out and named; every other file is
 * still restored. An interrupted restore, run again into the same target, continues.
 */
import { lstatSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { chmod, lutimes, mkdir, readdir, rm, symlink, utimes } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { CumulusError, fromSystemError, isCumulusError } from '../core/errors.ts';
import type { TreeEntry } from '../core/tree.ts';
import { BlobPool } from './blob-pool.ts';
import type { PieceResult, WritePiece } from './blob-protocol.ts';
import { excludeMatcher } from './excludes.ts';
import { type BlobReader, sealedBytes } from './repository.ts';
import type { Snapshot, UnlockedRepository } from './unlocked-repository.ts';

export interface RestoreOptions {
  target: string;
  overwrite?: boolean;
  /** Gitignore-style patterns (relative to the source root): restore only what matches. */
  include?: string[];
  /** Worker threads that open blobs and write files (default: one per core). */
  workers?: number;
  onEvent?: (event: RestoreEvent) => void;
}

export interface RestoreCounters {
  /** Files restored (or found already restored), and their bytes. */
  files: number;
  bytes: number;
  /** Of those, files a previous run had already restored, left as they were. */
  skipped: number;
  dirs: number;
  symlinks: number;
  /** What the snapshot (or the --include selection) holds, counted before any file is written. */
  filesTotal: number;
  bytesTotal: number;
}

export type RestoreEvent =
  | { type: 'progress'; counters: RestoreCounters; elapsedMs: number }
  | { type: 'failed'; path: string; reason: string };

export interface RestoreResult {
  counters: RestoreCounters;
  failed: { path: string; reason: string }[];
  durationMs: number;
}

type FileEntry = TreeEntry & { type: 'file' };

/**
 * Small files are written in batches of at most BATCH_BYTES / BATCH_FILES: one read of
 * their blobs, one message to a worker. A larger file goes window by window, each window
 * of about BATCH_BYTES, in order. JOBS_PER_WORKER batches or windows per worker may be
 * read or in a worker at once: that bounds the sealed bytes in flight.
 */
const BATCH_BYTES = 4 << 20;
const BATCH_FILES = 512;
const JOBS_PER_WORKER = 3;

/**
 * JOURNAL is the file a restore keeps in the target's root while it runs: it names the
 * snapshot, so running the same restore again continues instead of refusing a target
 * that is not empty. It goes when the restore finishes, even with files it could not
 * restore: those are retried with --overwrite, which skips what is already restored.
 */
export const JOURNAL = '.cumulus-restore';

/**
 * MTIME_SLACK_NS is how far a file's mtime may be from the snapshot's and still count as
 * set by a restore: times are set through the OS in seconds as a double, which keeps
 * about a microsecond of a present-day time.
 */
const MTIME_SLACK_NS = 1000n;

interface Target {
  /** The target held files before this run: each file is checked before it is written. */
  existing: boolean;
}

/**
 * prepareTarget refuses a target that is neither empty nor the target of an interrupted
 * restore of the same snapshot (unless overwrite), then records this restore in it.
 */
async function prepareTarget(target: string, snapshotId: string, overwrite: boolean): Promise<Target> {
  let names: string[] = [];
  try {
    names = (await readdir(target)).filter((name) => name !== JOURNAL);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR') {
      throw new CumulusError('target_not_empty', `restore target ${target} is a file`, {
        hint: 'choose a folder',
      });
    }
    if (code !== 'ENOENT') throw error;
  }
  let journaled: string | undefined;
  try {
    journaled = (JSON.parse(readFileSync(join(target, JOURNAL), 'utf8')) as { snapshot?: string }).snapshot;
  } catch {
    // No journal (or an unreadable one): this is not the target of an interrupted restore.
  }
  const resuming = journaled === snapshotId;
  if (names.length > 0 && !resuming && !overwrite) {
    throw new CumulusError('target_not_empty', `restore target ${target} is not empty`, {
      hint:
        journaled === undefined
          ? 'choose an empty or new folder, or pass --overwrite to replace files in it'
          : `it holds an unfinished restore of snapshot ${journaled.slice(0, 8)}: restore that one again to continue it, choose another folder, or pass --overwrite`,
    });
  }
  await mkdir(target, { recursive: true });
  writeFileSync(join(target, JOURNAL), `${JSON.stringify({ snapshot: snapshotId })}\n`);
  return { existing: names.length > 0 };
}

/** sourceFolders decides where each source lands: the target itself for one source, a subfolder each for several. */
function sourceFolders(target: string, paths: string[]): string[] {
  if (paths.length === 1) return [target];
  const used = new Set<string>();
  return paths.map((path) => {
    const name = basename(path) || 'root';
    let candidate = name;
    for (let i = 2; used.has(candidate); i++) candidate = `${name}-${i}`;
    used.add(candidate);
    return join(target, candidate);
  });
}

function seconds(ns: string): number {
  return Number(BigInt(ns)) / 1e9;
}

/**
 * restoredBefore says whether `abs` already is the file `entry` describes, as a restore
 * leaves it: a restore sets the mtime through the open file only after its last write,
 * so a file cut short by an interruption has the time of that write, not the snapshot's.
 */
function restoredBefore(abs: string, entry: FileEntry): boolean {
  const stat = lstatSync(abs, { bigint: true, throwIfNoEntry: false });
  if (stat === undefined || !stat.isFile()) return false;
  const drift = stat.mtimeNs - BigInt(entry.mtimeNs);
  return (
    stat.size === BigInt(entry.size) &&
    (drift < 0n ? -drift : drift) <= MTIME_SLACK_NS &&
    Number(stat.mode & 0o7777n) === (entry.mode & 0o7777)
  );
}

/** Slots is a counting semaphore: the jobs that may be read or written at once. */
class Slots {
  #free: number;
  readonly #waiters: (() => void)[] = [];

  constructor(count: number) {
    this.#free = count;
  }

  async acquire(): Promise<void> {
    if (this.#free > 0) {
      this.#free--;
      return;
    }
    await new Promise<void>((resolve) => this.#waiters.push(resolve));
  }

  release(): void {
    const next = this.#waiters.shift();
    if (next !== undefined) next();
    else this.#free++;
  }
}

interface QueuedFile {
  abs: string;
  rel: string;
  entry: FileEntry;
}

class Restorer {
  readonly #vault: UnlockedRepository<BlobReader>;
  readonly #options: RestoreOptions;
  readonly #include: ((path: string, isDir: boolean) => boolean) | undefined;
  readonly #failed: { path: string; reason: string }[] = [];
  readonly #dirs: { abs: string; entry: TreeEntry | undefined }[] = [];
  readonly #started = Date.now();
  readonly #running = new Set<Promise<void>>();
  #pool: BlobPool | undefined;
  #slots = new Slots(1);
  #existing = false;
  #fatal: unknown;
  #batch: QueuedFile[] = [];
  #batchBytes = 0;
  #lastProgress = 0;
  readonly counters: RestoreCounters = {
    files: 0,
    bytes: 0,
    skipped: 0,
    dirs: 0,
    symlinks: 0,
    filesTotal: 0,
    bytesTotal: 0,
  };

  constructor(vault: UnlockedRepository<BlobReader>, options: RestoreOptions) {
    this.#vault = vault;
    this.#options = options;
    this.#include = options.include?.length ? excludeMatcher(options.include) : undefined;
  }

  async run(snapshot: Snapshot): Promise<RestoreResult> {
    const target = resolve(this.#options.target);
    const sources = snapshot.info.sources.filter((s) => snapshot.record.sources.some((r) => r.id === s.id));
    const folders = sourceFolders(
      target,
      sources.map((s) => s.path),
    );
    await this.#count(
      sources.map((source) => ({ tree: source.tree, rel: '', included: this.#include === undefined })),
    );
    this.#progress(true);
    this.#existing = (
      await prepareTarget(target, snapshot.record.id, this.#options.overwrite ?? false)
    ).existing;
    const pool = new BlobPool(this.#vault.keys, { workers: this.#options.workers });
    this.#pool = pool;
    this.#slots = new Slots(pool.workers * JOBS_PER_WORKER);
    try {
      for (const [i, source] of sources.entries()) {
        await this.#directory(source.tree, '', folders[i], this.#include === undefined);
      }
      this.#flush();
    } finally {
      // Every job settles before the restore returns or throws: no worker writes after it.
      while (this.#running.size > 0) await Promise.all(this.#running);
      await pool.close();
    }
    if (this.#fatal !== undefined) throw this.#fatal;
    // Directory modes and times last, deepest first: writing into a directory changes its mtime.
    for (const { abs, entry } of this.#dirs.reverse()) {
      if (entry === undefined) continue;
      await chmod(abs, entry.mode);
      await utimes(abs, seconds(entry.mtimeNs), seconds(entry.mtimeNs));
    }
    rmSync(join(target, JOURNAL), { force: true });
    this.#progress(true);
    return { counters: this.counters, failed: this.#failed, durationMs: Date.now() - this.#started };
  }

  #fail(path: string, reason: string): void {
    this.#failed.push({ path, reason });
    this.#options.onEvent?.({ type: 'failed', path, reason });
  }

  #progress(force = false): void {
    const now = Date.now();
    if (!force && now - this.#lastProgress < 200) return;
    this.#lastProgress = now;
    this.#options.onEvent?.({
      type: 'progress',
      counters: { ...this.counters },
      elapsedMs: now - this.#started,
    });
  }

  /**
   * count adds what the trees hold (as --include selects it) to the totals, before anything
   * is written. It goes level by level, reading each level's trees in one batched read, so
   * a remote repository answers a few requests per level rather than one per folder.
   */
  async #count(roots: { tree: string; rel: string; included: boolean }[]): Promise<void> {
    for (let level = roots; level.length > 0; ) {
      await this.#vault.prefetchTrees(level.map((node) => node.tree));
      const next: typeof roots = [];
      for (const { tree, rel, included } of level) {
        let entries: TreeEntry[];
        try {
          entries = await this.#vault.readTree(tree);
        } catch (error) {
          if (!isCumulusError(error)) throw error;
          continue; // The restore walk names it.
        }
        for (const child of entries) {
          const childRel = rel === '' ? child.name : `${rel}/${child.name}`;
          const childIncluded = included || (this.#include?.(childRel, child.type === 'dir') ?? true);
          if (child.type === 'dir') next.push({ tree: child.tree, rel: childRel, included: childIncluded });
          else if (child.type === 'file' && childIncluded) {
            this.counters.filesTotal++;
            this.counters.bytesTotal += child.size;
          }
        }
      }
      level = next;
    }
  }

  /**
   * directory restores one tree into `abs`. Without --include everything is restored and
   * every directory created; with it, a directory is created only when something in it is.
   */
  async #directory(
    treeId: string,
    rel: string,
    abs: string,
    included: boolean,
    entry?: TreeEntry,
  ): Promise<boolean> {
    let entries: TreeEntry[];
    try {
      entries = await this.#vault.readTree(treeId);
    } catch (error) {
      if (!isCumulusError(error)) throw error;
      this.#fail(rel || '/', `directory cannot be read: ${error.message}`);
      return false;
    }
    await this.#vault.prefetchTrees(entries.flatMap((e) => (e.type === 'dir' ? [e.tree] : [])));
    let created = false;
    const ensure = async () => {
      if (created) return;
      created = true;
      await mkdir(abs, { recursive: true });
      this.#dirs.push({ abs, entry });
      if (entry !== undefined) this.counters.dirs++;
    };
    if (included) await ensure();
    for (const child of entries) {
      if (this.#fatal !== undefined) throw this.#fatal;
      const childRel = rel === '' ? child.name : `${rel}/${child.name}`;
      const childAbs = join(abs, child.name);
      const childIncluded = included || (this.#include?.(childRel, child.type === 'dir') ?? true);
      if (child.type === 'dir') {
        if (!created && (await this.#peek(child.tree, childRel, childIncluded))) await ensure();
        if (created) await this.#directory(child.tree, childRel, childAbs, childIncluded, child);
        continue;
      }
      if (!childIncluded) continue;
      await ensure();
      if (child.type === 'symlink') {
        await rm(childAbs, { force: true });
        await symlink(child.target, childAbs);
        await lutimes(childAbs, seconds(child.mtimeNs), seconds(child.mtimeNs));
        this.counters.symlinks++;
      } else {
        await this.#queueFile({ abs: childAbs, rel: childRel, entry: child });
      }
    }
    return created;
  }

  /** peek says whether anything under a tree is selected by --include. */
  async #peek(treeId: string, rel: string, included: boolean): Promise<boolean> {
    if (included) return true;
    for await (const { path, entry } of this.#vault.walk(treeId, rel)) {
      if (this.#include?.(path, entry.type === 'dir')) return true;
    }
    return false;
  }

  async #queueFile(file: QueuedFile): Promise<void> {
    if (this.#existing && restoredBefore(file.abs, file.entry)) {
      this.counters.files++;
      this.counters.bytes += file.entry.size;
      this.counters.skipped++;
      this.#progress();
      return;
    }
    if (file.entry.size > BATCH_BYTES) {
      await this.#slots.acquire();
      this.#start(this.#largeFile(file));
      return;
    }
    if (this.#batch.length >= BATCH_FILES || this.#batchBytes + file.entry.size > BATCH_BYTES) {
      await this.#slots.acquire();
      this.#flush(true);
    }
    this.#batch.push(file);
    this.#batchBytes += file.entry.size;
  }

  /** start runs a job beside the walk; the first error that is not one file's stops the restore. */
  #start(job: Promise<void>): void {
    const running = job.catch((error: unknown) => {
      this.#fatal ??= error;
    });
    this.#running.add(running);
    void running.finally(() => this.#running.delete(running));
  }

  /** flush writes the queued small files; `acquired` says the caller already holds a slot. */
  #flush(acquired = false): void {
    const batch = this.#batch;
    this.#batch = [];
    this.#batchBytes = 0;
    if (batch.length === 0) {
      if (acquired) this.#slots.release();
      return;
    }
    const job = async () => {
      if (!acquired) await this.#slots.acquire();
      try {
        await this.#write(
          batch.map((file) => ({ file, piece: this.#piece(file, 0, file.entry.chunks, true, true) })),
        );
      } finally {
        this.#slots.release();
      }
    };
    this.#start(job());
  }

  #piece(file: QueuedFile, position: number, chunks: string[], first: boolean, last: boolean): WritePiece {
    const { entry } = file;
    return {
      path: file.abs,
      position,
      chunks,
      create: first,
      replace: first && (this.#options.overwrite ?? false),
      ...(last ? { finish: { mode: entry.mode, mtime: seconds(entry.mtimeNs) } } : {}),
    };
  }

  /**
   * largeFile writes a file larger than a batch window by window, each window's blobs read
   * and written in one job, in order (a window's position is where the previous one ended).
   * It is called holding a slot; it takes a new one for each later window.
   */
  async #largeFile(file: QueuedFile): Promise<void> {
    const { chunks, size } = file.entry;
    const window = Math.max(1, Math.floor(BATCH_BYTES / Math.ceil(size / chunks.length)));
    let position = 0;
    for (let i = 0; i < chunks.length; i += window) {
      if (i > 0) await this.#slots.acquire();
      try {
        const piece = this.#piece(
          file,
          position,
          chunks.slice(i, i + window),
          i === 0,
          i + window >= chunks.length,
        );
        const [result] = await this.#write([{ file, piece }]);
        if (!result.ok) return;
        position += result.bytes;
      } finally {
        this.#slots.release();
      }
    }
  }

  /**
   * write reads the blobs of the pieces and has a worker write them. A piece whose blobs
   * cannot all be read is not sent: its file fails with the reason.
   */
  async #write(jobs: { file: QueuedFile; piece: WritePiece }[]): Promise<PieceResult[]> {
    const ids = [...new Set(jobs.flatMap((j) => j.piece.chunks))];
    const reads = await this.#vault.repo.readBlobs(ids);
    const blobs = new Map<string, Uint8Array>();
    const sent: { file: QueuedFile; piece: WritePiece }[] = [];
    const results: PieceResult[] = jobs.map(({ file, piece }) => {
      for (const id of piece.chunks) {
        const read = reads.get(id);
        if (read === undefined) throw new Error(`readBlobs gave no answer for blob ${id}`);
        if (!read.ok) return { ok: false, reason: read.reason };
      }
      for (const id of piece.chunks) blobs.set(id, sealedBytes(id, reads.get(id)));
      sent.push({ file, piece });
      return { ok: true, bytes: 0 };
    });
    const pool = this.#pool as BlobPool;
    const written =
      sent.length === 0
        ? []
        : await pool.write(
            sent.map((s) => s.piece),
            blobs,
          );
    let next = 0;
    for (const [i, { file, piece }] of jobs.entries()) {
      if (results[i].ok) results[i] = written[next++];
      const result = results[i];
      if (result.ok) {
        this.counters.bytes += result.bytes;
        if (piece.finish !== undefined) {
          this.counters.files++;
          this.#progress();
        }
        continue;
      }
      if (result.errno !== undefined) {
        const converted = fromSystemError(
          Object.assign(new Error(result.reason), { code: result.errno }),
          file.abs,
        );
        // A full disk stops the restore; anything else the target refuses costs one file.
        if (isCumulusError(converted, 'disk_full')) throw converted;
      }
      // The worker removes a file it fails to write; one whose blobs were not read may be
      // the part a previous run or window wrote.
      if (!written.includes(result) && lstatSync(file.abs, { throwIfNoEntry: false })?.isFile())
        rmSync(file.abs, { force: true });
      this.#fail(file.rel, result.reason);
    }
    return results;
  }
}

/** restore writes a snapshot into `options.target`. */
export async function restore(
  vault: UnlockedRepository<BlobReader>,
  snapshot: Snapshot,
  options: RestoreOptions,
): Promise<RestoreResult> {
  return new Restorer(vault, options).run(snapshot);
}
