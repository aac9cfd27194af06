/**
 * The source-tree corpus's plan: at scale 1 about 80,000 files averaging ~16 KB (many of
 * 1–8 KB, a tail up to ~400 KB, a few binary files) in about 5,000 folders grown at random
 * (varied fan-out, depth up to 10, names like a source tree's), with vendored copies of a
 * few subtrees, half of their files exact and half with a few lines changed. Its change
 * edits a few lines in ~N% of the files, adds a few and deletes a few.
 */
import { type ContentKind, vocabulary } from './content.ts';
import type { CorpusFile, CorpusPlan } from './corpus.ts';
import { Prng } from './prng.ts';

const KiB = 1024;
const FILES = 80_000;
const DIRS = 5_000;
const BYTES = 1.3e9;
const MAX_DEPTH = 9;
/** The share of files that are vendored copies. */
const VENDORED = 0.04;

const topLevel = [
  'src',
  'lib',
  'packages',
  'test',
  'docs',
  'tools',
  'scripts',
  'vendor',
  'examples',
  'assets',
];
const dirWords = [
  'src',
  'lib',
  'core',
  'utils',
  'internal',
  'api',
  'components',
  'hooks',
  'services',
  'models',
  'views',
  'tests',
  '__tests__',
  'fixtures',
  'types',
  'config',
  'cmd',
  'pkg',
  'server',
  'client',
  'common',
  'shared',
  'platform',
  'drivers',
  'net',
  'fs',
  'io',
  'crypto',
  'ui',
  'widgets',
  'styles',
  'scripts',
  'build',
  'docs',
  'examples',
  'plugins',
  'middleware',
  'handlers',
  'routes',
  'store',
  'db',
  'migrations',
  'schema',
  'parser',
  'runtime',
  'compiler',
  'codegen',
  'helpers',
  'adapters',
  'generated',
  'locales',
  'mocks',
  'e2e',
  'include',
  'arch',
  'images',
  'fonts',
];

/** Extensions by kind; a file's kind follows its folder a little (docs/, assets/). */
const codeExts = ['ts', 'ts', 'ts', 'tsx', 'js', 'js', 'py', 'go', 'c', 'h', 'rs', 'java', 'css', 'sh'];
const configExts = ['json', 'json', 'yaml', 'toml'];
const docsExts = ['md', 'md', 'txt', 'rst'];
const binaryExts: { ext: string; kind: ContentKind }[] = [
  { ext: 'png', kind: 'random' },
  { ext: 'woff2', kind: 'random' },
  { ext: 'ico', kind: 'random' },
  { ext: 'wasm', kind: 'records' },
  { ext: 'bin', kind: 'records' },
];

const commonNames = ['index', 'utils', 'types', 'main', 'test', 'helpers', 'constants', 'config'];

function count(n: number, scale: number): number {
  return Math.max(1, Math.round(n * scale));
}

/** normal returns a standard normal value (Box–Muller). */
function normal(prng: Prng): number {
  return Math.sqrt(-2 * Math.log(1 - prng.float())) * Math.cos(2 * Math.PI * prng.float());
}

/** textSize is log-normal around 5.5 KiB, capped at 384 KiB: most files of a few KB, a long tail. */
function textSize(prng: Prng): number {
  return Math.min(384 * KiB, Math.round(5.5 * KiB * Math.exp(1.5 * normal(prng))));
}

interface Dir {
  path: string;
  depth: number;
  names: Set<string>;
}

/** growDirs grows a random tree of `n` folders: each new folder goes under a folder picked at random. */
function growDirs(prng: Prng, n: number): Dir[] {
  const dirs: Dir[] = topLevel.slice(0, Math.min(n, topLevel.length)).map((path) => ({
    path,
    depth: 1,
    names: new Set(),
  }));
  while (dirs.length < n) {
    // The shallower of two folders picked at random: trees get wide before they get deep.
    const a = dirs[prng.int(dirs.length)];
    const b = dirs[prng.int(dirs.length)];
    const parent = a.depth <= b.depth ? a : b;
    if (parent.depth >= MAX_DEPTH) continue;
    const name = prng.float() < 0.6 ? prng.pick(dirWords) : vocabulary[prng.skewed(vocabulary.length)];
    if (parent.names.has(name)) continue;
    parent.names.add(name);
    dirs.push({ path: `${parent.path}/${name}`, depth: parent.depth + 1, names: new Set() });
  }
  return dirs;
}

function fileKind(prng: Prng, dir: string): { kind: ContentKind; ext: string } {
  const u = prng.float();
  const inDocs = dir.startsWith('docs');
  const inAssets = /(^|\/)(assets|images|fonts)$/.test(dir);
  if (u < (inAssets ? 0.5 : 0.008)) return prng.pick(binaryExts);
  if (u < (inDocs ? 0.6 : 0.05)) return { kind: 'docs', ext: prng.pick(docsExts) };
  if (u < (inDocs ? 0.65 : 0.14)) return { kind: 'config', ext: prng.pick(configExts) };
  return { kind: 'source', ext: prng.pick(codeExts) };
}

/** uniqueName returns `base.ext`, or `base-N.ext` when the folder has that name already. */
function uniqueName(dir: Dir, base: string, ext: string): string {
  let name = `${base}.${ext}`;
  for (let n = 2; dir.names.has(name); n++) name = `${base}-${n}.${ext}`;
  dir.names.add(name);
  return name;
}

/**
 * planSourceTree returns the files, symlinks and empty folders of the source-tree corpus
 * at `scale`, keyed under `seed`; the same arguments always give the same plan.
 */
export function planSourceTree(
  scale: number,
  seed: string,
): Pick<CorpusPlan, 'files' | 'symlinks' | 'emptyDirs'> {
  const prng = new Prng(`plan:source:${seed}:${scale}`);
  const fileCount = count(FILES, scale);
  // Some folders get no file; growing 5% more leaves about DIRS with files or subfolders.
  const dirs = growDirs(prng, count(DIRS * 1.05, scale));
  // Folders hold very different numbers of files: a weight per folder, log-uniform.
  const cumulative: number[] = [];
  let total = 0;
  for (const _ of dirs) {
    total += prng.logUniform(1, 200);
    cumulative.push(total);
  }
  const pickDir = (): Dir => {
    const target = prng.float() * total;
    let low = 0;
    let high = cumulative.length - 1;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (cumulative[mid] <= target) low = mid + 1;
      else high = mid;
    }
    return dirs[low];
  };

  const files: CorpusFile[] = [];
  const originals = Math.max(1, Math.round(fileCount * (1 - VENDORED)));
  for (let i = 0; i < originals; i++) {
    const dir = pickDir();
    const { kind, ext } = fileKind(prng, dir.path);
    const empty = kind === 'source' && prng.float() < 0.01;
    const binary = kind === 'random' || kind === 'records';
    const size = empty ? 0 : binary ? prng.logUniform(KiB, 256 * KiB) : textSize(prng);
    const base = prng.float() < 0.15 ? prng.pick(commonNames) : vocabulary[prng.int(vocabulary.length)];
    const path = `${dir.path}/${uniqueName(dir, base, ext)}`;
    const file: CorpusFile = { path, kind, key: `source:${seed}:${path}`, size, mode: 0o644 };
    if (ext === 'sh') file.mode = 0o755;
    files.push(file);
  }

  // Vendored copies: whole subtrees under third_party/, half of the files patched.
  const vendored: CorpusFile[] = [];
  for (let copy = 0; vendored.length < fileCount - originals && copy < 1000; copy++) {
    const root = dirs[prng.int(dirs.length)].path;
    const inside = files.filter((file) => file.path.startsWith(`${root}/`));
    if (inside.length === 0 || inside.length > fileCount - originals - vendored.length + 50) continue;
    const prefix = `third_party/${vocabulary[prng.int(vocabulary.length)]}-${copy}`;
    for (const file of inside) {
      const path = `${prefix}/${file.path.slice(root.lastIndexOf('/') + 1)}`;
      const patched = file.size > 0 && prng.float() < 0.5;
      vendored.push({ ...file, path, ...(patched ? { variant: `vendored:${path}` } : {}) });
    }
  }
  files.push(...vendored);

  // Scale every size alike so that the total is BYTES × scale; copies stay the size of their originals.
  const planned = files.reduce((sum, file) => sum + file.size, 0);
  const factor = planned > 0 ? (BYTES * scale) / planned : 1;
  const sizes = new Map<string, number>();
  for (const file of files) {
    const size = sizes.get(file.key) ?? Math.round(file.size * factor);
    sizes.set(file.key, size);
    file.size = size;
  }

  const symlinks = Array.from({ length: count(8, scale) }, (_, i) => {
    const file = files[prng.int(originals)];
    const dir = file.path.slice(0, file.path.lastIndexOf('/'));
    return { path: `${dir}/link-${i}`, target: file.path.slice(dir.length + 1) };
  });
  const emptyDirs = Array.from({ length: count(20, scale) }, (_, i) => `${prng.pick(dirs).path}/empty-${i}`);
  return { files, symlinks, emptyDirs };
}
