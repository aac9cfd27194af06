/**
 * Scanner counts the files and bytes a backup will walk, ahead of the archiver (as restic's
 * scanner runs beside its archiver), so progress has a real total early instead of one
 * that grows with the walk. It walks the same sources with the same excludes, on the main
 * thread in short slices between the archiver's own work, and reads only metadata: a
 * directory listing with types, and one lstat per regular file for its size.
 */
import { type Dirent, lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ExcludeMatcher } from '../excludes.ts';

export interface ScanSource {
  path: string;
  exclude: ExcludeMatcher;
}

export interface ScanTotals {
  files: number;
  bytes: number;
  /** The scan is over: the totals are final (up to files changing while the backup runs). */
  done: boolean;
}

/** SLICE_MS is how long one slice of the scan may hold the main thread. */
const SLICE_MS = 4;

interface Pending {
  abs: string;
  rel: string;
  exclude: ExcludeMatcher;
}

export class Scanner {
  readonly totals: ScanTotals = { files: 0, bytes: 0, done: false };
  readonly #stack: Pending[] = [];
  #started = false;
  #stopped = false;

  constructor(sources: ScanSource[]) {
    for (const source of [...sources].reverse()) {
      let stats: ReturnType<typeof lstatSync>;
      try {
        stats = lstatSync(source.path);
      } catch {
        continue;
      }
      if (stats?.isDirectory()) this.#stack.push({ abs: source.path, rel: '', exclude: source.exclude });
      else if (stats?.isFile()) this.#count(Number(stats.size));
    }
  }

  /** start scans in slices until done or stopped; it never throws (the archiver reports what it cannot read). */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    const slice = () => {
      if (this.#stopped) return;
      if (this.step(SLICE_MS)) setImmediate(slice);
    };
    setImmediate(slice);
  }

  stop(): void {
    this.#stopped = true;
  }

  /** step scans for about `budgetMs` and says whether there is more to scan. */
  step(budgetMs: number): boolean {
    const until = performance.now() + budgetMs;
    while (this.#stack.length > 0) {
      this.#directory(this.#stack.pop() as Pending);
      if (performance.now() >= until) break;
    }
    if (this.#stack.length === 0) this.totals.done = true;
    return !this.totals.done;
  }

  #directory({ abs, rel, exclude }: Pending): void {
    let entries: Dirent[];
    try {
      entries = readdirSync(abs, { withFileTypes: true });
    } catch {
      return;
    }
    const subdirectories: Pending[] = [];
    for (const entry of entries) {
      const childRel = rel === '' ? entry.name : `${rel}/${entry.name}`;
      const childAbs = join(abs, entry.name);
      let isDirectory = entry.isDirectory();
      let isFile = entry.isFile();
      let size = -1;
      if (!isDirectory && !isFile && !entry.isSymbolicLink()) {
        // A file system that does not report types in its listings.
        try {
          const stats = lstatSync(childAbs);
          isDirectory = stats.isDirectory();
          isFile = stats.isFile();
          size = stats.size;
        } catch {
          continue;
        }
      }
      if (!isDirectory && !isFile) continue;
      if (exclude(childRel, isDirectory)) continue;
      if (isDirectory) {
        subdirectories.push({ abs: childAbs, rel: childRel, exclude });
        continue;
      }
      if (size < 0) {
        try {
          size = lstatSync(childAbs).size;
        } catch {
          continue;
        }
      }
      this.#count(size);
    }
    // Depth first in listing order, like the archiver's walk.
    for (let i = subdirectories.length - 1; i >= 0; i--) this.#stack.push(subdirectories[i]);
  }

  #count(size: number): void {
    this.totals.files++;
    this.totals.bytes += size;
  }
}
