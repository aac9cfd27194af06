/**
 * scanSource walks one source the way a backup would (honouring its excludes) without
 * reading file contents: how many files and bytes it holds, which entries cannot be read,
 * and whether its excludes cover all of it. Bounded by `maxEntries` so the doctor stays
 * quick on a huge folder (the result then says it is truncated).
 */
import { constants } from 'node:fs';
import { access, lstat, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import ignore from 'ignore';
import type { BackupSource } from './ports.ts';

export interface SourceScan {
  path: string;
  exists: boolean;
  files: number;
  bytes: number;
  /** Entries that cannot be read, first `maxListed` of them. */
  unreadable: string[];
  unreadableCount: number;
  /** Top-level entries before excludes, and how many the excludes remove. */
  topLevelEntries: number;
  topLevelExcluded: number;
  truncated: boolean;
}

export async function scanSource(
  source: BackupSource,
  options: { maxEntries?: number; maxListed?: number } = {},
): Promise<SourceScan> {
  const maxEntries = options.maxEntries ?? 200_000;
  const maxListed = options.maxListed ?? 20;
  const scan: SourceScan = {
    path: source.path,
    exists: true,
    files: 0,
    bytes: 0,
    unreadable: [],
    unreadableCount: 0,
    topLevelEntries: 0,
    topLevelExcluded: 0,
    truncated: false,
  };
  try {
    if (!(await lstat(source.path)).isDirectory()) throw new Error('not a folder');
  } catch {
    return { ...scan, exists: false };
  }
  const excludes = ignore().add(source.excludes);
  const unreadable = (path: string) => {
    scan.unreadableCount++;
    if (scan.unreadable.length < maxListed) scan.unreadable.push(path);
  };
  let seen = 0;
  const stack = [source.path];
  while (stack.length > 0) {
    const dir = stack.pop()!;
    let entries: import('node:fs').Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      unreadable(dir);
      continue;
    }
    for (const entry of entries) {
      if (++seen > maxEntries) {
        scan.truncated = true;
        return scan;
      }
      const path = join(dir, entry.name);
      const rel = relative(source.path, path);
      const excluded = excludes.ignores(entry.isDirectory() ? `${rel}/` : rel);
      if (dir === source.path) {
        scan.topLevelEntries++;
        if (excluded) scan.topLevelExcluded++;
      }
      if (excluded) continue;
      if (entry.isDirectory()) {
        stack.push(path);
      } else if (entry.isFile()) {
        try {
          await access(path, constants.R_OK);
          scan.files++;
          scan.bytes += (await lstat(path)).size;
        } catch {
          unreadable(path);
        }
      }
    }
  }
  return scan;
}
