import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { constants, zstdCompressSync } from 'node:zlib';
import { contentBytes } from './content.ts';
import { ensureCorpus, mutateCorpus, mutationSize, planBytes, planCorpus } from './corpus.ts';
import { type TreeDigest, treeDigest } from './tree.ts';

const dir = mkdtempSync(join(tmpdir(), 'bench-corpus-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** contentOnly drops mtimes, which differ between two generations of the same bytes. */
function contentOnly(digest: TreeDigest): Map<string, string> {
  return new Map([...digest].map(([path, entry]) => [path, entry.replace(/^(file \S+ \S+) \S+/, '$1')]));
}

test('planCorpus at scale 1 is about 1 GB with every kind of file the benchmark promises', () => {
  const plan = planCorpus(1);
  const bytes = planBytes(plan);
  assert.ok(bytes > 0.9e9 && bytes < 1.2e9, `${bytes} bytes`);
  const small = plan.files.filter((file) => file.path.startsWith('home/'));
  assert.ok(small.length >= 20_000 && small.every((file) => file.size <= 16 * 1024));
  const videos = plan.files.filter((file) => file.path.startsWith('media/videos/'));
  assert.ok(videos.every((file) => file.size >= 20 * 2 ** 20 && file.size <= 200 * 2 ** 20));
  const keys = plan.files.map((file) => file.key);
  assert.ok(new Set(keys).size < keys.length, 'some files are duplicates of others');
  assert.equal(new Set(plan.files.map((file) => file.path)).size, plan.files.length, 'paths are unique');
  assert.deepEqual(planCorpus(1), plan, 'the plan is deterministic');
});

test('content compresses like the real thing: text 3-5x, records about 2x, media not at all', () => {
  const ratio = (kind: 'code' | 'prose' | 'records' | 'random') => {
    const bytes = contentBytes(kind, 'ratio', 1 << 20);
    return (
      bytes.length / zstdCompressSync(bytes, { params: { [constants.ZSTD_c_compressionLevel]: 3 } }).length
    );
  };
  for (const kind of ['code', 'prose'] as const)
    assert.ok(ratio(kind) >= 3 && ratio(kind) <= 5, `${kind}: ${ratio(kind)}`);
  assert.ok(ratio('records') >= 1.6 && ratio('records') <= 2.5, `records: ${ratio('records')}`);
  assert.ok(ratio('random') < 1.01);
});

test('content of a key is the same on every call, and a shorter file is a prefix of a longer one', () => {
  const long = contentBytes('code', 'k', 200_000);
  assert.deepEqual(contentBytes('code', 'k', 200_000), long);
  assert.deepEqual(contentBytes('code', 'k', 70_001), long.subarray(0, 70_001));
  assert.notDeepEqual(contentBytes('code', 'other', 1000), long.subarray(0, 1000));
});

test('two generations give identical trees; a mutation changes about 1% of files and is undone by the next ensureCorpus', () => {
  const first = ensureCorpus(0.005, join(dir, 'a'));
  const second = ensureCorpus(0.005, join(dir, 'b'));
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

  const again = ensureCorpus(0.005, join(dir, 'a'));
  assert.equal(again.mutation, null);
  assert.deepEqual(contentOnly(treeDigest(again.root)), base);
  assert.deepEqual(mutateCorpus(again, 1), mutation, 'the same mutation every time');
});
