import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { isCumulusError } from '../../core/errors.ts';
import { TEST_KDF } from '../../core/keys.ts';
import { initRepository } from '../local-keyring.ts';
import type { UnlockedRepository } from '../unlocked-repository.ts';
import { type BackupCounters, backup, dryRunBackup } from './archiver.ts';

const CHUNKER = { min: 2048, avg: 8192, max: 32768 };

async function setup(t: TestContext): Promise<{ work: string; vault: UnlockedRepository }> {
  const work = await mkdtemp(join(tmpdir(), 'cumulus-archiver-'));
  const vault = await initRepository(join(work, 'repo'), 'pw', { kdf: TEST_KDF, chunker: CHUNKER });
  t.after(async () => {
    await vault.repo.close();
    await rm(work, { recursive: true, force: true });
  });
  return { work, vault };
}

async function files(vault: UnlockedRepository, snapshotId: string): Promise<string[]> {
  const snapshot = await vault.findSnapshot(snapshotId);
  const found: string[] = [];
  for (const source of snapshot.info.sources) {
    for await (const { path, entry } of vault.walk(source.tree)) {
      if (entry.type === 'file') found.push(`${source.path.split('/').at(-1)}/${path}`);
    }
  }
  return found.sort();
}

async function folder(root: string, contents: Record<string, string>): Promise<string> {
  await mkdir(root, { recursive: true });
  for (const [name, text] of Object.entries(contents)) await writeFile(join(root, name), text);
  return root;
}

test("a source's own excludes apply to it alone", async (t) => {
  const { work, vault } = await setup(t);
  const docs = await folder(join(work, 'docs'), { 'a.txt': 'a', 'b.log': 'b' });
  const pics = await folder(join(work, 'pics'), { 'c.jpg': 'c', 'd.log': 'd', 'e.tmp': 'e' });
  const result = await backup(vault, {
    paths: [
      { path: docs, excludes: ['*.log'] },
      { path: pics, excludes: [] },
    ],
    excludes: ['*.tmp'],
    workers: 1,
  });
  assert.deepEqual(await files(vault, result.snapshotId), ['docs/a.txt', 'pics/c.jpg', 'pics/d.log']);
});

test('a dry run names what the next backup would read, per source, and writes nothing', async (t) => {
  const { work, vault } = await setup(t);
  const docs = await folder(join(work, 'docs'), { 'a.txt': 'aaaa', 'b.txt': 'bbbbbbbb' });
  const pics = await folder(join(work, 'pics'), { 'c.jpg': 'c'.repeat(100) });
  const paths = [docs, pics];
  const first = await dryRunBackup(vault, { paths });
  assert.deepEqual(first.sources, [
    { path: docs, filesToRead: 2, bytesToRead: 12 },
    { path: pics, filesToRead: 1, bytesToRead: 100 },
  ]);
  assert.equal(first.summary.filesNew, 3);
  assert.deepEqual(await vault.listSnapshots(), []);
  assert.deepEqual(await readdir(join(work, 'repo', 'packs')), []);

  await backup(vault, { paths, workers: 1 });
  await writeFile(join(docs, 'b.txt'), 'changed, and longer');
  await writeFile(join(pics, 'new.jpg'), 'n'.repeat(50));
  const next = await dryRunBackup(vault, { paths });
  assert.deepEqual(next.sources, [
    { path: docs, filesToRead: 1, bytesToRead: 19 },
    { path: pics, filesToRead: 1, bytesToRead: 50 },
  ]);
  assert.deepEqual(
    [next.summary.filesNew, next.summary.filesChanged, next.summary.filesUnchanged],
    [1, 1, 2],
  );
  assert.equal((await vault.listSnapshots()).length, 1);
});

test('a backup stopped while the walk waits for room in the queue fails as stopped, and nothing else', async (t) => {
  const { work, vault } = await setup(t);
  const source = join(work, 'many');
  await mkdir(source);
  // Each file is above the minimum chunk, so one job: 12 jobs do not fit the queue of one worker.
  for (let i = 0; i < 12; i++) await writeFile(join(source, `f${i}`), randomBytes(40_000));
  const stop = new AbortController();
  await assert.rejects(
    backup(vault, {
      paths: [source],
      workers: 1,
      signal: stop.signal,
      onEvent: (event) => {
        if (event.type === 'progress' && event.counters.filesDone > 0) stop.abort(new Error('unplugged'));
      },
    }),
    (error) => isCumulusError(error, 'partial'),
  );
  assert.deepEqual(await vault.listSnapshots(), []);
});

test('progress carries the totals the scanner counted, final by the end; an unchanged re-backup does not scan', async (t) => {
  const { work, vault } = await setup(t);
  const contents: Record<string, string> = {};
  for (let i = 0; i < 40; i++) contents[`f${i}.txt`] = `file ${i} `.repeat(100 + i);
  const src = await folder(join(work, 'src'), contents);
  await folder(join(src, 'sub'), { 'g.txt': 'g'.repeat(5_000), 'skip.log': 'l' });
  const bytes = Object.values(contents).reduce((sum, text) => sum + text.length, 0) + 5_000;
  const progress = async () => {
    const events: BackupCounters[] = [];
    await backup(vault, {
      paths: [src],
      excludes: ['*.log'],
      onEvent: (event) => {
        if (event.type === 'progress') events.push(event.counters);
      },
    });
    return events;
  };
  const first = (await progress()).at(-1);
  assert.deepEqual(
    { files: first?.filesTotal, bytes: first?.bytesTotal, final: first?.totalsFinal },
    { files: 41, bytes, final: true },
  );
  const again = await progress();
  assert.ok(again.length > 0);
  assert.ok(again.every((c) => !c.totalsFinal));
  assert.equal(again.at(-1)?.filesTotal, 41);
});
