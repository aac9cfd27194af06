/**
 * File trees described as data, and an exact comparison of two trees on disk (contents,
 * modes, mtimes, symlinks, empty directories) — what a restore must reproduce.
 */
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';

export type Spec =
  | { type: 'file'; data: Uint8Array | string; mode?: number; mtime?: number }
  | { type: 'dir'; children: Record<string, Spec>; mode?: number }
  | { type: 'symlink'; target: string };

/** writeTree creates `spec` (a directory's children) under `root`. */
export function writeTree(root: string, children: Record<string, Spec>): void {
  mkdirSync(root, { recursive: true });
  const dirs: [string, number | undefined][] = [];
  const visit = (dir: string, entries: Record<string, Spec>) => {
    for (const [name, spec] of Object.entries(entries)) {
      const path = join(dir, name);
      if (spec.type === 'file') {
        writeFileSync(path, spec.data);
        if (spec.mode !== undefined) chmodSync(path, spec.mode);
        if (spec.mtime !== undefined) utimesSync(path, spec.mtime, spec.mtime);
      } else if (spec.type === 'symlink') {
        symlinkSync(spec.target, path);
      } else {
        mkdirSync(path);
        visit(path, spec.children);
        dirs.push([path, spec.mode]);
      }
    }
  };
  visit(root, children);
  for (const [path, mode] of dirs.reverse()) if (mode !== undefined) chmodSync(path, mode);
}

export interface Difference {
  path: string;
  what: string;
}

/** compareTrees lists every difference between two directory trees (empty when identical). */
export function compareTrees(a: string, b: string, rel = ''): Difference[] {
  const out: Difference[] = [];
  const names = (dir: string) => readdirSync(dir).sort();
  const left = names(join(a, rel));
  const right = names(join(b, rel));
  for (const name of new Set([...left, ...right])) {
    const path = rel === '' ? name : `${rel}/${name}`;
    if (!left.includes(name) || !right.includes(name)) {
      out.push({ path, what: left.includes(name) ? 'missing in restore' : 'unexpected in restore' });
      continue;
    }
    const x = lstatSync(join(a, path));
    const y = lstatSync(join(b, path));
    const kind = (s: typeof x) =>
      s.isSymbolicLink() ? 'symlink' : s.isDirectory() ? 'dir' : s.isFile() ? 'file' : 'other';
    if (kind(x) !== kind(y)) {
      out.push({ path, what: `type ${kind(x)} vs ${kind(y)}` });
      continue;
    }
    if (kind(x) === 'symlink') {
      if (readlinkSync(join(a, path)) !== readlinkSync(join(b, path)))
        out.push({ path, what: 'link target' });
      continue;
    }
    if ((x.mode & 0o7777) !== (y.mode & 0o7777))
      out.push({ path, what: `mode ${x.mode.toString(8)} vs ${y.mode.toString(8)}` });
    if (Math.abs(x.mtimeMs - y.mtimeMs) > 1) out.push({ path, what: `mtime ${x.mtimeMs} vs ${y.mtimeMs}` });
    if (kind(x) === 'dir') out.push(...compareTrees(a, b, path));
    else if (kind(x) === 'file' && !readFileSync(join(a, path)).equals(readFileSync(join(b, path)))) {
      out.push({ path, what: 'contents' });
    }
  }
  return out;
}

/** pseudoRandom returns deterministic bytes (xorshift), incompressible enough for chunking tests. */
export function pseudoRandom(length: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** smallFiles writes `count` files of 1–600 bytes into folders of `perFolder`, deterministically. */
export function smallFiles(root: string, count: number, perFolder: number, seed: number): void {
  let state = seed;
  const next = () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state;
  };
  for (let i = 0; i < count; i++) {
    const folder = join(root, `d${Math.floor(i / perFolder) % 10}`, `f${Math.floor(i / perFolder)}`);
    if (i % perFolder === 0) mkdirSync(folder, { recursive: true });
    const bytes = Buffer.alloc(1 + (next() % 600));
    for (let b = 0; b < bytes.length; b++) bytes[b] = next() >>> 24;
    writeFileSync(join(folder, `file-${i}.txt`), bytes);
  }
}
