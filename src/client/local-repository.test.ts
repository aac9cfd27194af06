import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { isCumulusError } from '../core/errors.ts';
import { FolderBlobStore } from '../store/folder-blob-store.ts';
import { RepositoryStore } from '../store/repository-store.ts';
import { SqliteMetaStore } from '../store/sqlite-meta-store.ts';
import { commitOf, makePack, readSealed } from '../store/testing.ts';
import { createLocalRepository, openLocalRepository } from './local-repository.ts';
import type { RepositoryConfig } from './repository.ts';

const CONFIG: RepositoryConfig = {
  version: 1,
  id: 'ab'.repeat(32),
  chunker: { min: 512 << 10, avg: 1 << 20, max: 8 << 20 },
  created: '2030-01-01T00:00:00.000Z',
};
const KEY = { id: '01'.repeat(16), text: '{"version":1}' };
const SOURCE = 'cd'.repeat(16);

async function tempFolder(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cumulus-local-repo-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function newRepository(t: TestContext) {
  const dir = join(await tempFolder(t), 'repo');
  const repo = await createLocalRepository(dir, CONFIG, KEY);
  t.after(() => repo.close());
  return { dir, repo };
}

test('create lays out a repository that open reads back', async (t) => {
  const { dir, repo } = await newRepository(t);
  assert.deepEqual((await readdir(dir)).filter((f) => !f.startsWith('index.sqlite-')).sort(), [
    'config',
    'forgotten',
    'index.sqlite',
    'keys',
    'packs',
  ]);
  assert.deepEqual(JSON.parse(await readFile(join(dir, 'config'), 'utf8')), CONFIG);
  assert.equal(repo.location, dir);
  const again = await openLocalRepository(dir);
  t.after(() => again.close());
  assert.deepEqual(await again.config(), CONFIG);
  assert.deepEqual(await again.listKeyFiles(), [KEY.id]);
  assert.equal(await again.readKeyFile(KEY.id), KEY.text);
});

test('create refuses a folder that already is a repository', async (t) => {
  const { dir } = await newRepository(t);
  await assert.rejects(createLocalRepository(dir, CONFIG, KEY), (e) =>
    isCumulusError(e, 'repository_exists'),
  );
});

test('open refuses a folder that is not a repository and creates nothing in it', async (t) => {
  const dir = await tempFolder(t);
  await writeFile(join(dir, 'notes.txt'), 'mine');
  await assert.rejects(openLocalRepository(dir), (e) => {
    assert.ok(isCumulusError(e, 'not_a_repository'));
    assert.match(e.hint ?? '', /cumulus init/);
    return true;
  });
  assert.deepEqual(await readdir(dir), ['notes.txt']);
  await assert.rejects(openLocalRepository(join(dir, 'absent')), (e) =>
    isCumulusError(e, 'not_a_repository'),
  );
  assert.deepEqual(await readdir(dir), ['notes.txt']);
});

test('key files are written, listed, read and deleted, but never the last one', async (t) => {
  const { repo } = await newRepository(t);
  const second = '02'.repeat(16);
  await repo.writeKeyFile(second, 'second key');
  assert.deepEqual(await repo.listKeyFiles(), [KEY.id, second]);
  assert.equal(await repo.readKeyFile(second), 'second key');
  await repo.deleteKeyFile(KEY.id);
  await assert.rejects(repo.deleteKeyFile(second), (e) => isCumulusError(e, 'usage'));
  await assert.rejects(repo.readKeyFile(KEY.id), (e) => isCumulusError(e, 'not_found'));
  await assert.rejects(repo.writeKeyFile('../escape', 'x'), (e) => isCumulusError(e, 'invalid_input'));
  assert.deepEqual(await repo.listKeyFiles(), [second]);
});

test('after index.sqlite is deleted, rebuildIndex restores packs and blobs', async (t) => {
  const { dir, repo } = await newRepository(t);
  const data = makePack([1000, 2000]);
  const snapshot = makePack([{ length: 100, type: 'snapshot' }]);
  await repo.putPack(data.bytes, data.id);
  await repo.putPack(snapshot.bytes, snapshot.id);
  await repo.commitSnapshot(commitOf(snapshot.blobs[0], { [SOURCE]: data.blobs }));
  await repo.forgetSnapshots([snapshot.blobs[0].id]);
  await repo.close();
  for (const file of await readdir(dir)) if (file.startsWith('index.sqlite')) await rm(join(dir, file));

  const reopened = await openLocalRepository(dir);
  t.after(() => reopened.close());
  assert.equal((await reopened.usage()).packs, 0);
  assert.deepEqual(await reopened.rebuildIndex(), { packs: 2, blobs: 3, damagedPacks: [] });
  assert.deepEqual(await readSealed(reopened, data.blobs[1].id), data.blobs[1].sealed);
  assert.deepEqual(await reopened.listBlobIds('snapshot'), [snapshot.blobs[0].id]);
  assert.deepEqual(await reopened.forgottenSnapshots(), new Set([snapshot.blobs[0].id]));
});

/** runChildren starts node children running `script` (an ES module) with args, and waits for all. */
async function runChildren(script: string, argsList: string[][]): Promise<string[]> {
  return Promise.all(
    argsList.map(
      (args) =>
        new Promise<string>((resolve, reject) => {
          const child = spawn(process.execPath, ['--input-type=module', '-e', script, ...args], {
            stdio: ['ignore', 'pipe', 'pipe'],
          });
          let out = '';
          let err = '';
          child.stdout.on('data', (d) => {
            out += d;
          });
          child.stderr.on('data', (d) => {
            err += d;
          });
          child.on('close', (code) =>
            code === 0 ? resolve(out) : reject(new Error(`child failed (${code}): ${err}`)),
          );
        }),
    ),
  );
}

/** storeOf opens the store of a repository folder directly, as the quota side of the server does. */
function storeOf(dir: string): RepositoryStore {
  return new RepositoryStore(new SqliteMetaStore(join(dir, 'index.sqlite')), new FolderBlobStore(dir));
}

const module = (path: string) => JSON.stringify(new URL(path, import.meta.url).href);

/** Waits for a go file so both children start their writes together. */
const BARRIER = `
  import { existsSync } from 'node:fs';
  const go = process.argv[2];
  while (!existsSync(go)) await new Promise((r) => setTimeout(r, 5));
`;

const WRITER = `
  import { openLocalRepository } from ${module('./local-repository.ts')};
  import { commitOf, makePack } from ${module('../store/testing.ts')};
  ${BARRIER}
  const repo = await openLocalRepository(process.argv[1]);
  const session = await repo.beginWrite();
  const shared = 'ee'.repeat(32);
  const snapshots = [];
  const blobs = [];
  for (let i = 0; i < 8; i++) {
    const data = makePack([3000, 5000, { id: shared, length: 700 }]);
    const snapshot = makePack([{ length: 90, type: 'snapshot' }]);
    await repo.putPack(data.bytes, data.id);
    await repo.putPack(snapshot.bytes, snapshot.id);
    await repo.commitSnapshot(commitOf(snapshot.blobs[0], { [process.argv[3]]: data.blobs }));
    snapshots.push(snapshot.blobs[0].id);
    blobs.push(...data.blobs.map((b) => b.id));
  }
  await session.release();
  await repo.close();
  console.log(JSON.stringify({ snapshots, blobs }));
`;

test('two processes writing packs and commits to one repository at once lose nothing', async (t) => {
  const { dir, repo } = await newRepository(t);
  const go = join(dir, 'go');
  const children = runChildren(WRITER, [
    [dir, go, '11'.repeat(16)],
    [dir, go, '22'.repeat(16)],
  ]);
  await writeFile(go, '');
  const results = (await children).map((out) => JSON.parse(out) as { snapshots: string[]; blobs: string[] });

  const listed = new Set((await repo.listSnapshots()).map((s) => s.id));
  assert.deepEqual(listed, new Set(results.flatMap((r) => r.snapshots)));
  assert.equal(listed.size, 16);
  const blobs = await repo.readBlobs(results.flatMap((r) => r.blobs));
  assert.equal([...blobs.values()].filter((r) => r.ok).length, 16 * 2 + 1);
  assert.ok((await repo.checkPacks({ readData: true })).every((c) => c.ok));
  const usage = await repo.usage();
  assert.equal(usage.referencedBytes, 16 * (3000 + 5000 + 90) + 700);
  const store = storeOf(dir);
  t.after(() => store.close());
  assert.deepEqual(await store.listLocks(), []);
});

const QUOTA_COMMITTER = `
  import { join } from 'node:path';
  import { FolderBlobStore } from ${module('../store/folder-blob-store.ts')};
  import { RepositoryStore } from ${module('../store/repository-store.ts')};
  import { SqliteMetaStore } from ${module('../store/sqlite-meta-store.ts')};
  ${BARRIER}
  const dir = process.argv[1];
  const store = new RepositoryStore(new SqliteMetaStore(join(dir, 'index.sqlite')), new FolderBlobStore(dir));
  const commit = JSON.parse(process.argv[3]);
  try {
    await store.commitSnapshot(commit, { maxReferencedBytes: 10_000 });
    console.log('committed');
  } catch (error) {
    console.log(error.code);
  }
  await store.close();
`;

test('two commits racing for the last of a quota: exactly one passes', async (t) => {
  const { dir, repo } = await newRepository(t);
  const commits = [];
  for (let i = 0; i < 2; i++) {
    const data = makePack([6000]);
    const snapshot = makePack([{ length: 10, type: 'snapshot' }]);
    await repo.putPack(data.bytes, data.id);
    await repo.putPack(snapshot.bytes, snapshot.id);
    commits.push(commitOf(snapshot.blobs[0], { [SOURCE]: data.blobs }));
  }
  await mkdir(join(dir, 'race'));
  const go = join(dir, 'race', 'go');
  const children = runChildren(
    QUOTA_COMMITTER,
    commits.map((c) => [dir, go, JSON.stringify(c)]),
  );
  await writeFile(go, '');
  const outcomes = (await children).map((o) => o.trim()).sort();
  assert.deepEqual(outcomes, ['committed', 'quota_exceeded']);
  assert.equal((await repo.usage()).referencedBytes, 6010);
});
