/**
 * The restorer: writes a snapshot (or the parts of it an `--include` selects) into a
 * target folder with contents, modes, mtimes, symlinks and empty directories. Every blob
 * is verified against its ID as it is opened; a file whose data is damaged or missing is
 * left out and named, and every intact file is still restored.
 */
import { chmod, lutimes, mkdir, open, readdir, rm, symlink, utimes } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { CumulusError, fromSystemError, isCumulusError } from '../core/errors.ts';
import { openBlob } from '../core/seal.ts';
import type { TreeEntry } from '../core/tree.ts';
import { excludeMatcher } from './excludes.ts';
import { type BlobRead, type BlobReader, sealedBytes } from './repository.ts';
import type { Snapshot, UnlockedRepository } from './unlocked-repository.ts';

export interface RestoreOptions {
  target: string;
  overwrite?: boolean;
  /** Gitignore-style patterns (relative to the source root): restore only what matches. */
  include?: string[];
  onEvent?: (event: RestoreEvent) => void;
}

export interface RestoreCounters {
  files: number;
  dirs: number;
  symlinks: number;
  bytes: number;
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
 * Files are written in batches of at most BATCH_BYTES whose blobs are fetched together,
 * pack range by pack range, and written 16 at a time. A file larger than a batch is
 * written alone, after its batch, LARGE_FILE_WINDOW chunks at a time. Memory: one batch
 * of sealed blobs and the plaintexts being written, or one window of a large file (plus
 * what V8 has not collected yet: opening a blob leaves its decrypted copy behind).
 */
const BATCH_BYTES = 8 << 20;
const BATCH_FILES = 512;
const WRITE_CONCURRENCY = 16;
const LARGE_FILE_WINDOW = 4;

async function assertTargetUsable(target: string, overwrite: boolean): Promise<void> {
  let names: string[];
  try {
    names = await readdir(target);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    if ((error as NodeJS.ErrnoException).code === 'ENOTDIR') {
      throw new CumulusError('target_not_empty', `restore target ${target} is a file`, {
        hint: 'choose a folder',
      });
    }
    throw error;
  }
  if (names.length > 0 && !overwrite) {
    throw new CumulusError('target_not_empty', `restore target ${target} is not empty`, {
      hint: 'choose an empty or new folder, or pass --overwrite to replace files in it',
    });
  }
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

class Restorer {
  readonly #vault: UnlockedRepository<BlobReader>;
  readonly #options: RestoreOptions;
  readonly #include: ((path: string, isDir: boolean) => boolean) | undefined;
  readonly #failed: { path: string; reason: string }[] = [];
  readonly #dirs: { abs: string; entry: TreeEntry | undefined }[] = [];
  readonly #started = Date.now();
  #batch: { abs: string; rel: string; entry: FileEntry }[] = [];
  #batchBytes = 0;
  #lastProgress = 0;
  readonly counters: RestoreCounters = { files: 0, dirs: 0, symlinks: 0, bytes: 0, bytesTotal: 0 };

  constructor(vault: UnlockedRepository<BlobReader>, options: RestoreOptions) {
    this.#vault = vault;
    this.#options = options;
    this.#include = options.include?.length ? excludeMatcher(options.include) : undefined;
  }

  async run(snapshot: Snapshot): Promise<RestoreResult> {
    const target = resolve(this.#options.target);
    await assertTargetUsable(target, this.#options.overwrite ?? false);
    const sources = snapshot.info.sources.filter((s) => snapshot.record.sources.some((r) => r.id === s.id));
    const folders = sourceFolders(
      target,
      sources.map((s) => s.path),
    );
    await mkdir(target, { recursive: true });
    for (const [i, source] of sources.entries()) {
      await this.#directory(source.tree, '', folders[i], this.#include === undefined);
    }
    await this.#flush();
    // Directory modes and times last, deepest first: writing into a directory changes its mtime.
    for (const { abs, entry } of this.#dirs.reverse()) {
      if (entry === undefined) continue;
      await chmod(abs, entry.mode);
      await utimes(abs, seconds(entry.mtimeNs), seconds(entry.mtimeNs));
    }
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
        await this.#queueFile(childAbs, childRel, child);
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

  async #queueFile(abs: string, rel: string, entry: FileEntry): Promise<void> {
    this.counters.bytesTotal += entry.size;
    const size = entry.size <= BATCH_BYTES ? entry.size : 0;
    if (this.#batch.length >= BATCH_FILES || this.#batchBytes + size > BATCH_BYTES) await this.#flush();
    this.#batch.push({ abs, rel, entry });
    this.#batchBytes += size;
  }

  async #flush(): Promise<void> {
    const batch = this.#batch;
    this.#batch = [];
    this.#batchBytes = 0;
    const small = batch.filter((f) => f.entry.size <= BATCH_BYTES);
    const ids = [...new Set(small.flatMap((f) => f.entry.chunks))];
    const sealed = ids.length > 0 ? await this.#vault.repo.readBlobs(ids) : new Map<string, BlobRead>();
    const worker = async () => {
      for (let file = small.shift(); file !== undefined; file = small.shift())
        await this.#writeFile(file.abs, file.rel, file.entry, sealed);
    };
    await Promise.all(Array.from({ length: WRITE_CONCURRENCY }, worker));
    sealed.clear();
    for (const file of batch.filter((f) => f.entry.size > BATCH_BYTES))
      await this.#writeFile(file.abs, file.rel, file.entry, undefined);
  }

  /** writeFile writes one file; `sealed` holds its blobs, or is undefined for a large file read window by window. */
  async #writeFile(
    abs: string,
    rel: string,
    entry: FileEntry,
    sealed: Map<string, BlobRead> | undefined,
  ): Promise<void> {
    let handle: Awaited<ReturnType<typeof open>> | undefined;
    try {
      // Into an empty target nothing is in the way; with overwrite, a folder or link may be.
      if (this.#options.overwrite) await rm(abs, { force: true, recursive: true });
      handle = await open(abs, 'w', 0o600);
      let position = 0;
      for (let i = 0; i < entry.chunks.length; i += LARGE_FILE_WINDOW) {
        const ids = entry.chunks.slice(i, i + LARGE_FILE_WINDOW);
        const blobs = sealed ?? (await this.#vault.repo.readBlobs(ids));
        for (const id of ids) {
          const plain = openBlob(this.#vault.keys, id, sealedBytes(id, blobs.get(id)));
          await handle.write(plain, 0, plain.length, position);
          position += plain.length;
          this.counters.bytes += plain.length;
        }
      }
      // Through the open file, not the path again; the mtime after the last write.
      await handle.chmod(entry.mode);
      await handle.utimes(seconds(entry.mtimeNs), seconds(entry.mtimeNs));
      await handle.close();
      handle = undefined;
      this.counters.files++;
      this.#progress();
    } catch (error) {
      await handle?.close().catch(() => {});
      const converted = fromSystemError(error, abs);
      // Damaged or missing data costs one file; a full disk or a bug stops the restore.
      if (!isCumulusError(converted) || converted.code === 'disk_full') throw converted;
      await rm(abs, { force: true });
      this.#fail(rel, converted.message);
    }
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
