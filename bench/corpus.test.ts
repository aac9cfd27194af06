import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { constants, zstdCompressSync } from 'node:zlib';
import { type ContentKind, contentBytes } from './content.ts';
import { ensureCorpus, mutateCorpus, mutationSize, planBytes, planCorpus, unmutateCorpus } from './corpus.ts';
import { type TreeDigest, treeDigest } from './tree.ts';

const dir = mkdtempSync(join(tmpdir(), 'bench-corpus-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** contentOnly drops mtimes, which differ between two generations of the same bytes. */
function contentOnly(digest: TreeDigest): Map<string, string> {
  return new Map([...digest].map(([path, entry]) => [path, entry.replace(/^(file \S+ \S+) \S+/, '$1')]));
}

test('planCorpus at scale 1 is about 1 GB with every kind of file the benchmark promises', () => {
  const plan = planCorpus('mixed', 1);
  const bytes = planBytes(plan);
  assert.ok(bytes > 0.9e9 && bytes < 1.2e9, `${bytes} bytes`);
  const small = plan.files.filter((file) => file.path.startsWith('home/'));
  assert.ok(small.length >= 20_000 && small.every((file) => file.size <= 16 * 1024));
  const videos = plan.files.filter((file) => file.path.startsWith('media/videos/'));
  assert.ok(videos.every((file) => file.size >= 20 * 2 ** 20 && file.size <= 200 * 2 ** 20));
  const keys = plan.files.map((file) => file.key);
  assert.ok(new Set(keys).size < keys.length, 'some files are duplicates of others');
  assert.equal(new Set(plan.files.map((file) => file.path)).size, plan.files.length, 'paths are unique');
  assert.deepEqual(planCorpus('mixed', 1), plan, 'the plan is deterministic');
});

test('the source-tree plan at scale 1: ~80,000 files of ~16 KB on average, most small, in ~5,000 folders', () => {
  const plan = planCorpus('source', 1);
  const bytes = planBytes(plan);
  assert.ok(plan.files.length >= 78_000 && plan.files.length <= 82_000, `${plan.files.length} files`);
  assert.ok(bytes > 1.25e9 && bytes < 1.35e9, `${bytes} bytes`);
  const dirs = new Set(plan.files.map((file) => file.path.slice(0, file.path.lastIndexOf('/'))));
  const withParents = new Set(
    [...dirs].flatMap((dir) => dir.split('/').map((_, i, parts) => parts.slice(0, i + 1).join('/'))),
  );
  assert.ok(withParents.size >= 4_500 && withParents.size <= 5_500, `${withParents.size} folders`);
  const sizes = plan.files.map((file) => file.size).sort((a, b) => a - b);
  const small = sizes.filter((size) => size >= 1024 && size <= 8192).length;
  assert.ok(small > sizes.length * 0.4, `${small} files of 1-8 KB`);
  assert.ok(sizes.at(-1)! > 200_000 && sizes.at(-1)! < 1_000_000, `largest ${sizes.at(-1)}`);
  const binary = plan.files.filter((file) => file.kind === 'random' || file.kind === 'records').length;
  assert.ok(binary > 0 && binary < plan.files.length * 0.03, `${binary} binary files`);
  assert.ok(
    plan.files.some((file) => file.variant),
    'some vendored copies are patched',
  );
  const keys = plan.files.map((file) => file.key);
  assert.ok(new Set(keys).size < keys.length, 'some vendored copies are exact');
  assert.equal(new Set(plan.files.map((file) => file.path)).size, plan.files.length, 'paths are unique');
  assert.deepEqual(planCorpus('source', 1), plan, 'the plan is deterministic');
});

test('content compresses like the real thing: text 3-5x, records about 2x, media not at all', () => {
  const ratio = (kind: ContentKind) => {
    const bytes = contentBytes(kind, 'ratio', 1 << 20);
    return (
      bytes.length / zstdCompressSync(bytes, { params: { [constants.ZSTD_c_compressionLevel]: 3 } }).length
    );
  };
  for (const kind of ['code', 'prose', 'source', 'docs', 'config'] as const)
    assert.ok(ratio(kind) >= 3 && ratio(kind) <= 6, `${kind}: ${ratio(kind)}`);
  assert.ok(ratio('records') >= 1.6 && ratio('records') <= 2.5, `records: ${ratio('records')}`);
  assert.ok(ratio('random') < 1.01);
});

test('content of a key is the same on every call, and a shorter file is a prefix of a longer one', () => {
  for (const kind of ['code', 'source'] as const) {
    const long = contentBytes(kind, 'k', 2_200_000);
    assert.equal(long.length, 2_200_000);
    assert.deepEqual(contentBytes(kind, 'k', 2_200_000), long);
    assert.deepEqual(contentBytes(kind, 'k', 70_001), long.subarray(0, 70_001));
    assert.notDeepEqual(contentBytes(kind, 'other', 1000), long.subarray(0, 1000));
  }
});

test('two generations give identical trees; a mutation changes about 1% of files and is undone by the next ensureCorpus', () => {
  const first = ensureCorpus('mixed', 0.005, join(dir, 'a'));
  const second = ensureCorpus('mixed', 0.005, join(dir, 'b'));
  const base = contentOnly(treeDigest(first.root));
  assert.deepEqual(contentOnly(treeDigest(second.root)), base);
  assert.ok(base.size > 200);

  const mutation = mutateCorpus(first, 1);
  assert.ok(mutationSize(mutation) >= 5);
  assert.ok(mutation.edited.length > 0 && mutation.appended.length > 0 && mutation.replaced.length > 0);
  assert.ok(mutation.patched.length > 0 && mutation.added.length > 0);
  const mutated = contentOnly(treeDigest(first.root));
  const changed = [...base.keys()].filter((path) => mutated.get(path) !== base.get(path));
  const added = [...mutated.keys()].filter((path) => !base.has(path));
  assert.equal(changed.length, mutationSize(mutation) - mutation.added.length);
  assert.ok(added.length >= mutation.added.length);
  const manifest = JSON.parse(readFileSync(`${first.root}.json`, 'utf8'));
  assert.deepEqual(manifest.mutation, mutation, 'the manifest records the mutation before it happens');

  const again = ensureCorpus('mixed', 0.005, join(dir, 'a'));
  assert.equal(again.mutation, null);
  assert.deepEqual(contentOnly(treeDigest(again.root)), base);
  assert.deepEqual(mutateCorpus(again, 1), mutation, 'the same mutation every time');
});

test('the source tree changes by edits, additions and deletions, undone by unmutateCorpus', () => {
  const corpus = ensureCorpus('source', 0.01, join(dir, 'source'));
  const base = contentOnly(treeDigest(corpus.root));
  assert.ok(base.size > 800);
  const mutation = mutateCorpus(corpus, 1);
  assert.ok(mutation.edited.length >= 5 && mutation.added.length > 0 && mutation.deleted.length > 0);
  const mutated = contentOnly(treeDigest(corpus.root));
  for (const path of mutation.deleted) assert.equal(mutated.has(path), false, `${path} is deleted`);
  for (const path of mutation.edited) assert.notEqual(mutated.get(path), base.get(path), `${path} is edited`);
  for (const file of mutation.added) assert.ok(mutated.has(file.path), `${file.path} is added`);
  unmutateCorpus(corpus);
  assert.deepEqual(contentOnly(treeDigest(corpus.root)), base);
  assert.equal(ensureCorpus('source', 0.01, join(dir, 'source')).mutation, null);
});
