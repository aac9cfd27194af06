/**
 * The benchmark corpora, each a deterministic tree in `.bench/corpus-<name>`: `mixed`
 * (about `scale` GB of source-like text, compressible binary records, incompressible
 * media-like files, tens of thousands of small files in nested folders, duplicates, a few
 * symlinks and empty folders) and `source` (a source tree of ~80,000 text files at scale 1,
 * planned in source-tree.ts). Every file is generated from its own key, so a tree is rebuilt
 * only when its manifest differs, and a mutation is undone by regenerating the files it
 * touched.
 */
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fchmodSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { type ContentKind, contentBytes, generateContent, vocabulary } from './content.ts';
import { workDir } from './paths.ts';
import { Prng } from './prng.ts';
import { planSourceTree } from './source-tree.ts';
import { treeStats } from './tree.ts';

/** CORPUS_VERSION changes whenever the same scale would produce different bytes. */
const CORPUS_VERSION = 1;
const SEED = 'cumulus-bench';
const KiB = 1024;
const MiB = 1024 * KiB;

/** CorpusFile is one file of the plan: its bytes are generateContent(kind, key, size). */
export interface CorpusFile {
  path: string;
  kind: ContentKind;
  key: string;
  size: number;
  mode: number;
  /** variant, when set, changes a few lines of the content of `key` in place (a patched vendored copy). */
  variant?: string;
}

/** corpusNames are the corpora `--corpus` accepts. */
export const corpusNames = ['mixed', 'source'] as const;

/** CorpusName is one of corpusNames. */
export type CorpusName = (typeof corpusNames)[number];

/** CorpusPlan lists everything in the corpus; it is pure data, computed without I/O. */
export interface CorpusPlan {
  name: CorpusName;
  version: number;
  scale: number;
  files: CorpusFile[];
  symlinks: { path: string; target: string }[];
  emptyDirs: string[];
}

/** Mutation lists the files one deterministic "~N% of files change" step touches. */
export interface Mutation {
  percent: number;
  /** edited: text files with lines inserted in the middle. */
  edited: string[];
  /** appended: files that grew at the end (text and record logs). */
  appended: string[];
  /** replaced: small files rewritten with new content. */
  replaced: string[];
  /** patched: binary record files overwritten in place (same size), like a database page write. */
  patched: string[];
  /** added: new files. */
  added: CorpusFile[];
  /** deleted: files removed. */
  deleted: string[];
}

/** Corpus is the tree on disk, its plan, and the mutation currently applied (if any). */
export interface Corpus {
  root: string;
  plan: CorpusPlan;
  mutation: Mutation | null;
}

interface Manifest {
  digest: string;
  files: number;
  bytes: number;
  mutation: Mutation | null;
}

/** corpusRoot is where the named corpus lives; `${root}.json` is its manifest. */
export function corpusRoot(name: CorpusName): string {
  return `${workDir}/corpus-${name}`;
}

function count(n: number, scale: number): number {
  return Math.max(1, Math.round(n * scale));
}

/** nestedDir returns `prefix/w1/w2/…`, choosing among `fanouts[i]` words at depth i. */
function nestedDir(prng: Prng, prefix: string, fanouts: number[]): string {
  let dir = prefix;
  fanouts.forEach((fanout, depth) => {
    dir += `/${vocabulary[100 * depth + prng.int(fanout)]}`;
  });
  return dir;
}

const smallKinds: { kind: ContentKind; ext: string; weight: number }[] = [
  { kind: 'code', ext: 'js', weight: 0.35 },
  { kind: 'prose', ext: 'txt', weight: 0.2 },
  { kind: 'records', ext: 'dat', weight: 0.3 },
  { kind: 'random', ext: 'png', weight: 0.15 },
];

function pickSmallKind(prng: Prng): { kind: ContentKind; ext: string } {
  let u = prng.float();
  for (const entry of smallKinds) {
    u -= entry.weight;
    if (u < 0) return entry;
  }
  return smallKinds[0];
}

/** smallSize returns 0–16 KiB, most files well under 8 KiB. */
function smallSize(prng: Prng): number {
  const u = prng.float();
  return Math.floor(16 * KiB * u * u);
}

/** planCorpus returns the named corpus for `scale` (1 ≈ 1 GB); the same arguments always give the same plan. */
export function planCorpus(name: CorpusName, scale: number): CorpusPlan {
  if (name === 'source') return { name, version: CORPUS_VERSION, scale, ...planSourceTree(scale, SEED) };
  return planMixed(scale);
}

function planMixed(scale: number): CorpusPlan {
  const prng = new Prng(`plan:${SEED}:${CORPUS_VERSION}:${scale}`);
  const files: CorpusFile[] = [];
  const add = (path: string, kind: ContentKind, size: number, mode = 0o644) =>
    files.push({ path, kind, key: `${SEED}:${path}`, size, mode });

  for (let i = 0; i < count(3000, scale); i++) {
    add(
      `${nestedDir(prng, 'src', [12, 8])}/${vocabulary[prng.int(2000)]}-${i}.ts`,
      'code',
      prng.logUniform(KiB, 256 * KiB),
    );
  }
  for (let i = 0; i < count(1000, scale); i++) {
    add(
      `${nestedDir(prng, 'docs', [6, 6])}/${vocabulary[prng.int(2000)]}-${i}.md`,
      'prose',
      prng.logUniform(KiB, 128 * KiB),
    );
  }
  for (let i = 0; i < count(40, scale); i++) {
    add(`data/${vocabulary[prng.int(2000)]}-${i}.db`, 'records', prng.logUniform(256 * KiB, 16 * MiB), 0o600);
  }
  for (let i = 0; i < count(40, scale); i++) {
    add(`media/photos/${2015 + prng.int(10)}/IMG_${1000 + i}.jpg`, 'random', prng.logUniform(MiB, 8 * MiB));
  }
  const videoMiB = [
    [20, 30],
    [40, 60],
    [80, 110],
    [150, 200],
  ];
  videoMiB.forEach(([low, high], i) => {
    add(
      `media/videos/${vocabulary[prng.int(2000)]}-${i}.mp4`,
      'random',
      Math.round(prng.range(low, high) * MiB * scale),
    );
  });
  const firstVideo = files.length - videoMiB.length;
  for (let i = 0; i < count(30000, scale); i++) {
    const { kind, ext } = pickSmallKind(prng);
    const mode = prng.float() < 0.05 ? 0o755 : 0o644;
    add(
      `${nestedDir(prng, 'home', [10, 10, 10])}/${vocabulary[prng.int(2000)]}-${i}.${ext}`,
      kind,
      smallSize(prng),
      mode,
    );
  }
  // Dedup opportunities: vendored copies of some sources and small files, and a copied video.
  const originals = files.filter((file) => file.path.startsWith('src/') || file.path.startsWith('home/'));
  for (const file of originals) {
    if (prng.float() < 0.03) files.push({ ...file, path: `vendor/${file.path}` });
  }
  const video = files[firstVideo];
  files.push({ ...video, path: `media/backup/${video.path.slice('media/videos/'.length)}` });

  const symlinks = Array.from({ length: 10 }, (_, i) => ({
    path: `links/link-${i}`,
    target: `../${files[prng.int(files.length)].path}`,
  }));
  const emptyDirs = Array.from({ length: 5 }, (_, i) => `tmp/empty-${i}`);
  return { name: 'mixed', version: CORPUS_VERSION, scale, files, symlinks, emptyDirs };
}

/** planBytes returns the total size of the plan's files. */
export function planBytes(plan: CorpusPlan): number {
  return plan.files.reduce((sum, file) => sum + file.size, 0);
}

function writeAll(fd: number, chunk: Buffer, position?: number): void {
  for (let done = 0; done < chunk.length; ) {
    done += writeSync(fd, chunk, done, chunk.length - done, position === undefined ? null : position + done);
  }
}

/** patchLines overwrites a few stretches after line ends with other bytes of the same length. */
function patchLines(bytes: Buffer, file: CorpusFile, variant: string): Buffer {
  const prng = new Prng(`variant:${variant}`);
  for (let k = prng.range(1, 3); k > 0; k--) {
    const at = bytes.indexOf(10, prng.int(bytes.length)) + 1;
    if (at <= 0 || at >= bytes.length) continue;
    const length = Math.min(bytes.length - at, prng.range(20, 200));
    contentBytes(file.kind, `${variant}:${k}`, length).copy(bytes, at);
  }
  return bytes;
}

/**
 * writeCorpusFile (re)creates one planned file under `root` with its exact bytes and mode;
 * `made` remembers the folders already created, which saves a syscall per file.
 */
function writeCorpusFile(root: string, file: CorpusFile, made?: Set<string>): void {
  const path = join(root, file.path);
  const dir = dirname(path);
  if (!made?.has(dir)) {
    mkdirSync(dir, { recursive: true });
    made?.add(dir);
  }
  const fd = openSync(path, 'w');
  try {
    if (file.variant)
      writeAll(fd, patchLines(contentBytes(file.kind, file.key, file.size), file, file.variant));
    else for (const chunk of generateContent(file.kind, file.key, file.size)) writeAll(fd, chunk);
    fchmodSync(fd, file.mode);
  } finally {
    closeSync(fd);
  }
}

function generateCorpus(root: string, plan: CorpusPlan): void {
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  const made = new Set<string>();
  for (const file of plan.files) writeCorpusFile(root, file, made);
  for (const dir of plan.emptyDirs) mkdirSync(join(root, dir), { recursive: true });
  for (const link of plan.symlinks) {
    mkdirSync(dirname(join(root, link.path)), { recursive: true });
    symlinkSync(link.target, join(root, link.path));
  }
}

function manifestPath(root: string): string {
  return `${root}.json`;
}

function readManifest(root: string): Manifest | undefined {
  try {
    return JSON.parse(readFileSync(manifestPath(root), 'utf8')) as Manifest;
  } catch {
    return undefined;
  }
}

function writeManifest(root: string, manifest: Manifest): void {
  writeFileSync(manifestPath(root), JSON.stringify(manifest, null, 1));
}

function planDigest(plan: CorpusPlan): string {
  return createHash('sha256').update(JSON.stringify(plan)).digest('hex');
}

/**
 * ensureCorpus returns the unmutated named corpus for `scale` at `root`, reusing the tree on
 * disk when its manifest matches the plan (undoing a recorded mutation) and its file count
 * and size check out; otherwise it rebuilds it, streaming (about 1 MiB in memory at a time).
 */
export function ensureCorpus(name: CorpusName, scale: number, root = corpusRoot(name)): Corpus {
  const plan = planCorpus(name, scale);
  const digest = planDigest(plan);
  const expected = { digest, files: plan.files.length, bytes: planBytes(plan), mutation: null };
  const manifest = readManifest(root);
  if (manifest?.digest === digest && existsSync(root)) {
    if (manifest.mutation) revertMutation(root, plan, manifest.mutation);
    const stats = treeStats(root);
    if (stats.files === expected.files && stats.bytes === expected.bytes) {
      writeManifest(root, expected);
      return { root, plan, mutation: null };
    }
    console.error(`corpus ${name}: ${root} does not match its manifest; rebuilding`);
  }
  rmSync(manifestPath(root), { force: true });
  const started = performance.now();
  console.error(
    `corpus ${name}: generating ${(expected.bytes / 1e9).toFixed(2)} GB in ${expected.files} files at ${root} …`,
  );
  generateCorpus(root, plan);
  writeManifest(root, expected);
  console.error(`corpus ${name}: generated in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return { root, plan, mutation: null };
}

/** pickDistinct takes up to `n` files from `pool` that are not in `taken`, and marks them taken. */
function pickDistinct(prng: Prng, pool: CorpusFile[], n: number, taken: Set<string>): string[] {
  const picked: string[] = [];
  for (let tries = 0; picked.length < n && tries < n * 20; tries++) {
    const file = prng.pick(pool);
    if (taken.has(file.path)) continue;
    taken.add(file.path);
    picked.push(file.path);
  }
  return picked;
}

/** planMutation returns the deterministic change of about `percent`% of the plan's files. */
export function planMutation(plan: CorpusPlan, percent: number): Mutation {
  const prng = new Prng(`mutate:${plan.name}:${SEED}:${plan.version}:${plan.scale}:${percent}`);
  const n = Math.max(5, Math.round((plan.files.length * percent) / 100));
  if (plan.name === 'source') return planSourceMutation(prng, plan, percent, n);
  const original = plan.files.filter((file) => !file.path.startsWith('vendor/'));
  const text = original.filter(
    (file) =>
      (file.kind === 'code' || file.kind === 'prose') && file.size >= KiB && !file.path.startsWith('home/'),
  );
  const records = original.filter((file) => file.path.startsWith('data/'));
  const small = original.filter((file) => file.path.startsWith('home/'));
  const taken = new Set<string>();
  const patched = pickDistinct(prng, records, Math.max(1, Math.round(n * 0.05)), taken);
  const edited = pickDistinct(prng, text, Math.round(n * 0.35), taken);
  const appended = pickDistinct(prng, [...text, ...records], Math.round(n * 0.25), taken);
  const replaced = pickDistinct(prng, small, Math.round(n * 0.25), taken);
  const added = Array.from({ length: Math.max(1, Math.round(n * 0.1)) }, (_, i): CorpusFile => {
    const path = `src/added/${vocabulary[prng.int(2000)]}-${i}.ts`;
    return { path, kind: 'code', key: `added:${path}`, size: prng.logUniform(KiB, 64 * KiB), mode: 0o644 };
  });
  return { percent, edited, appended, replaced, patched, added, deleted: [] };
}

/**
 * planSourceMutation is a day of work on a source tree: a few lines edited in `n` text
 * files, a tenth as many files added beside existing ones and as many deleted.
 */
function planSourceMutation(prng: Prng, plan: CorpusPlan, percent: number, n: number): Mutation {
  const text = plan.files.filter((file) => file.size >= 256 && !file.path.startsWith('third_party/'));
  const taken = new Set<string>();
  const edited = pickDistinct(
    prng,
    text.filter((file) => file.kind !== 'random' && file.kind !== 'records'),
    n,
    taken,
  );
  const deleted = pickDistinct(prng, text, Math.max(1, Math.round(n / 10)), taken);
  const added = Array.from({ length: Math.max(1, Math.round(n / 10)) }, (_, i): CorpusFile => {
    const near = prng.pick(text).path;
    const path = `${near.slice(0, near.lastIndexOf('/'))}/added-${i}.ts`;
    return { path, kind: 'source', key: `added:${path}`, size: prng.logUniform(KiB, 32 * KiB), mode: 0o644 };
  });
  return { percent, edited, appended: [], replaced: [], patched: [], added, deleted };
}

/** insertLines returns `bytes` with a few generated lines inserted after line ends. */
function insertLines(bytes: Buffer, file: CorpusFile): Buffer {
  const prng = new Prng(`edit:${file.key}`);
  const parts: Buffer[] = [];
  let from = 0;
  const edits = prng.range(1, 3);
  for (let k = 0; k < edits; k++) {
    const at = bytes.indexOf(10, from + prng.int(Math.max(1, (bytes.length - from) / 2)));
    if (at < 0) break;
    parts.push(
      bytes.subarray(from, at + 1),
      contentBytes(file.kind, `edit:${file.key}:${k}`, prng.range(100, 2000)),
      Buffer.from('\n'),
    );
    from = at + 1;
  }
  parts.push(bytes.subarray(from));
  return Buffer.concat(parts);
}

function applyMutation(root: string, plan: CorpusPlan, mutation: Mutation): void {
  const byPath = new Map(plan.files.map((file) => [file.path, file]));
  for (const path of mutation.edited) {
    const file = byPath.get(path)!;
    writeFileSync(join(root, path), insertLines(readFileSync(join(root, path)), file));
  }
  for (const path of mutation.appended) {
    const file = byPath.get(path)!;
    const prng = new Prng(`append:${file.key}`);
    writeFileSync(
      join(root, path),
      contentBytes(file.kind, `append:${file.key}`, prng.range(KiB, 16 * KiB)),
      { flag: 'a' },
    );
  }
  for (const path of mutation.replaced) {
    const file = byPath.get(path)!;
    writeFileSync(
      join(root, path),
      contentBytes(file.kind, `replace:${file.key}`, smallSize(new Prng(`replace:${file.key}`))),
    );
  }
  for (const path of mutation.patched) {
    const file = byPath.get(path)!;
    const page = 64 * KiB;
    const offset = new Prng(`patch:${file.key}`).int(Math.floor(file.size / page)) * page;
    const fd = openSync(join(root, path), 'r+');
    try {
      writeAll(fd, contentBytes('records', `patch:${file.key}`, Math.min(page, file.size - offset)), offset);
    } finally {
      closeSync(fd);
    }
  }
  for (const file of mutation.added) writeCorpusFile(root, file);
  for (const path of mutation.deleted) rmSync(join(root, path));
}

function revertMutation(root: string, plan: CorpusPlan, mutation: Mutation): void {
  const byPath = new Map(plan.files.map((file) => [file.path, file]));
  const touched = [
    ...mutation.edited,
    ...mutation.appended,
    ...mutation.replaced,
    ...mutation.patched,
    ...mutation.deleted,
  ];
  for (const path of touched) {
    writeCorpusFile(root, byPath.get(path)!);
  }
  for (const file of mutation.added) rmSync(join(root, file.path), { force: true });
  rmSync(join(root, 'src/added'), { recursive: true, force: true });
}

/**
 * mutateCorpus changes about `percent`% of the corpus's files in place, the same way on
 * every run, and records it in the manifest first so that the next ensureCorpus undoes it
 * even after a crash halfway through. Returns the mutation applied.
 */
export function mutateCorpus(corpus: Corpus, percent: number): Mutation {
  if (corpus.mutation) throw new Error('mutateCorpus: the corpus is already mutated');
  const mutation = planMutation(corpus.plan, percent);
  const manifest = readManifest(corpus.root);
  if (!manifest) throw new Error(`mutateCorpus: ${manifestPath(corpus.root)} is missing`);
  writeManifest(corpus.root, { ...manifest, mutation });
  applyMutation(corpus.root, corpus.plan, mutation);
  corpus.mutation = mutation;
  return mutation;
}

/** unmutateCorpus undoes the corpus's applied mutation, if any, and records that in the manifest. */
export function unmutateCorpus(corpus: Corpus): void {
  if (!corpus.mutation) return;
  revertMutation(corpus.root, corpus.plan, corpus.mutation);
  const manifest = readManifest(corpus.root);
  if (manifest) writeManifest(corpus.root, { ...manifest, mutation: null });
  corpus.mutation = null;
}

/** mutationSize returns how many files a mutation touches (changed plus added). */
export function mutationSize(mutation: Mutation): number {
  return (
    mutation.edited.length +
    mutation.appended.length +
    mutation.replaced.length +
    mutation.patched.length +
    mutation.added.length +
    mutation.deleted.length
  );
}
