/**
 * Trees on disk: their size (corpus bytes, repository size) and a digest of every entry,
 * to check that a restored tree equals its source.
 */
import { createHash } from 'node:crypto';
import { closeSync, lstatSync, openSync, readdirSync, readlinkSync, readSync } from 'node:fs';
import { join } from 'node:path';

/** TreeStats counts a tree's entries; `bytes` is the sum of file sizes (apparent size, not blocks). */
export interface TreeStats {
  files: number;
  dirs: number;
  symlinks: number;
  bytes: number;
}

/** walkTree calls `visit` with the relative path of every entry below `root` (not root itself), parents first. */
export function walkTree(root: string, visit: (relative: string, absolute: string) => void): void {
  const pending = [''];
  while (pending.length > 0) {
    const dir = pending.pop()!;
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      const relative = dir === '' ? entry.name : `${dir}/${entry.name}`;
      visit(relative, join(root, relative));
      if (entry.isDirectory()) pending.push(relative);
    }
  }
}

/** treeStats returns the counts and apparent size of the tree at `root`. */
export function treeStats(root: string): TreeStats {
  const stats: TreeStats = { files: 0, dirs: 0, symlinks: 0, bytes: 0 };
  walkTree(root, (_relative, absolute) => {
    const stat = lstatSync(absolute);
    if (stat.isFile()) {
      stats.files++;
      stats.bytes += stat.size;
    } else if (stat.isDirectory()) stats.dirs++;
    else if (stat.isSymbolicLink()) stats.symlinks++;
  });
  return stats;
}

const READ_BUFFER = Buffer.alloc(4 << 20);

function fileHash(path: string): string {
  const hash = createHash('sha256');
  const fd = openSync(path, 'r');
  try {
    for (let n = readSync(fd, READ_BUFFER); n > 0; n = readSync(fd, READ_BUFFER))
      hash.update(READ_BUFFER.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

/**
 * TreeDigest maps each relative path to what a restore must reproduce: for a file its
 * mode, size, mtime (to the millisecond) and SHA-256; for a directory its mode; for a
 * symlink its target. Directory mtimes are left out: extracting files into a directory
 * changes it, and not every tool sets it back.
 */
export type TreeDigest = Map<string, string>;

/** treeDigest reads every file under `root` once and returns its digest. */
export function treeDigest(root: string): TreeDigest {
  const digest: TreeDigest = new Map();
  walkTree(root, (relative, absolute) => {
    const stat = lstatSync(absolute);
    const mode = (stat.mode & 0o7777).toString(8);
    if (stat.isFile()) {
      digest.set(relative, `file ${mode} ${stat.size} ${Math.floor(stat.mtimeMs)} ${fileHash(absolute)}`);
    } else if (stat.isDirectory()) digest.set(relative, `dir ${mode}`);
    else if (stat.isSymbolicLink()) digest.set(relative, `symlink ${readlinkSync(absolute)}`);
    else digest.set(relative, 'other');
  });
  return digest;
}

/** DigestDifference names one path where two digests disagree and how. */
export interface DigestDifference {
  path: string;
  expected: string | undefined;
  actual: string | undefined;
}

/** compareDigests returns every path missing from, extra in, or different in `actual`, sorted by path. */
export function compareDigests(expected: TreeDigest, actual: TreeDigest): DigestDifference[] {
  const differences: DigestDifference[] = [];
  for (const [path, want] of expected) {
    const got = actual.get(path);
    if (got !== want) differences.push({ path, expected: want, actual: got });
  }
  for (const [path, got] of actual) {
    if (!expected.has(path)) differences.push({ path, expected: undefined, actual: got });
  }
  return differences.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** describeDifference explains one difference in a line a person can act on. */
export function describeDifference(difference: DigestDifference): string {
  if (difference.actual === undefined) return `missing: ${difference.path}`;
  if (difference.expected === undefined) return `unexpected: ${difference.path}`;
  return `differs: ${difference.path} (expected "${difference.expected}", got "${difference.actual}")`;
}
