import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { TEST_KDF } from '../core/keys.ts';
import { backup } from './archiver/archiver.ts';
import { type CachedRepository, withIndexCache } from './cached-repository.ts';
import { cacheDir, IndexCache } from './index-cache.ts';
import { initRepository, openRepository } from './local-keyring.ts';
import type { LocalRepository } from './local-repository.ts';
import type { Repository } from './repository.ts';
import { restore } from './restorer.ts';
import { UnlockedRepository } from './unlocked-repository.ts';

const CHUNKER = { min: 2048, avg: 8192, max: 32768 };

interface Counted {
  readBlobs: number;
  missingBlobs: number;
  blobsSince: number;
  commitSnapshot: number;
}

/** counting wraps a repository and counts the calls a cache is meant to spare. */
function counting(repo: Repository): { repo: Repository; calls: Counted } {
  const calls: Counted = { readBlobs: 0, missingBlobs: 0, blobsSince: 0, commitSnapshot: 0 };
  const wrapped = new Proxy(repo, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (name in calls) calls[name as keyof Counted]++;
        return value.apply(target, args);
      };
    },
  });
  return { repo: wrapped, calls };
}

async function setup(t: TestContext) {
  const work = await mkdtemp(join(tmpdir(), 'cumulus-cache-'));
  t.after(() => rm(work, { recursive: true, force: true }));
  const repoDir = join(work, 'repo');
  await (await initRepository(repoDir, 'pw', { kdf: TEST_KDF, chunker: CHUNKER })).repo.close();
  const data = join(work, 'data');
  await mkdir(join(data, 'sub'), { recursive: true });
  for (let i = 0; i < 40; i++)
    await writeFile(join(data, i % 2 ? 'sub' : '', `f${i}`), randomBytes(3000 + i));
  /** open unlocks the repository through a cache folder of its own ("a device"). */
  const open = async (device: string) => {
    const vault = await openRepository(repoDir, 'pw');
    const { repo, calls } = counting(vault.repo);
    const cached = withIndexCache(new UnlockedRepository(repo, vault.keys, vault.config), join(work, device));
    t.after(() => cached.repo.close());
    // The folder's own maintenance (gc, listing blobs), beside the cached vault.
    const local = vault.repo as LocalRepository;
    return { vault: cached, calls, local, cache: (cached.repo as CachedRepository).cache };
  };
  return { work, repoDir, data, open };
}

test('the cache folder follows CUMULUS_CACHE_DIR, then CUMULUS_CONFIG_DIR, then XDG', () => {
  assert.equal(cacheDir({ CUMULUS_CACHE_DIR: '/c', CUMULUS_CONFIG_DIR: '/d' }, 'linux'), '/c');
  assert.equal(cacheDir({ CUMULUS_CONFIG_DIR: '/d' }, 'linux'), '/d/cache');
  assert.equal(cacheDir({ HOME: '/h', XDG_CACHE_HOME: '/x' }, 'linux'), '/x/cumulus');
  assert.equal(cacheDir({ HOME: '/h' }, 'linux'), '/h/.cache/cumulus');
  assert.equal(cacheDir({ HOME: '/h' }, 'darwin'), '/h/Library/Caches/Cumulus');
});

test('a backup asks the repository no question per batch, and an unchanged one reads no tree', async (t) => {
  const { data, open, work } = await setup(t);
  const { vault, calls, cache } = await open('laptop');
  await backup(vault, { paths: [data], workers: 1 });
  assert.equal(calls.missingBlobs, 0, 'which chunks are new was answered by the cache');
  assert.equal(calls.blobsSince, 1, 'one catch-up with the (empty) repository');
  const info = await stat(cache.path);
  assert.equal(info.mode & 0o777, 0o600);
  assert.equal((await stat(join(work, 'laptop', vault.config.id))).mode & 0o777, 0o700);

  calls.readBlobs = 0;
  const again = await backup(vault, { paths: [data], workers: 1 });
  assert.equal(again.summary.filesUnchanged, 40);
  assert.equal(calls.readBlobs, 0, 'parent trees and snapshot descriptions came from the cache');
  assert.equal(calls.missingBlobs, 0);
});

test('another device uploads: the cache catches up with only what was added', async (t) => {
  const { data, open, work } = await setup(t);
  const one = await open('one');
  const two = await open('two');
  await backup(one.vault, { paths: [data], workers: 1 });
  const first = await two.cache.sync(two.vault.repo);
  assert.equal(first.restarted, true);
  const stored = first.ids;
  assert.ok(stored > 40, `the first catch-up got every blob (${stored})`);

  const more = join(work, 'more');
  await mkdir(more);
  await writeFile(join(more, 'new'), randomBytes(5000));
  await backup(one.vault, { paths: [more], workers: 1 });
  const next = await two.cache.sync(two.vault.repo);
  assert.equal(next.restarted, false);
  assert.equal(next.pages, 1);
  assert.ok(next.ids > 0 && next.ids < 10, `only the new blobs came (${next.ids})`);
  assert.deepEqual(two.cache.missing([...(await two.local.listBlobIds('data'))]), new Set());
});

test('deleted or damaged, the cache is rebuilt and the backup goes on', async (t) => {
  const { data, open, work } = await setup(t);
  const { vault, cache } = await open('laptop');
  await backup(vault, { paths: [data], workers: 1 });
  const path = cache.path;
  await vault.repo.close();

  await rm(join(work, 'laptop'), { recursive: true });
  const fresh = await open('laptop');
  const result = await backup(fresh.vault, { paths: [data], workers: 1 });
  assert.equal(result.summary.bytesAdded, 0, 'nothing sent twice: the rebuilt cache knows every blob');
  assert.equal(fresh.calls.blobsSince, 1);
  await fresh.vault.repo.close();

  await writeFile(path, Buffer.concat([Buffer.from('not a database'), randomBytes(8192)]));
  const rebuilt = await open('laptop');
  const after = await backup(rebuilt.vault, { paths: [data], workers: 1 });
  assert.equal(after.summary.bytesAdded, 0);
  assert.notEqual((await readFile(path)).subarray(0, 15).toString(), 'not a database');
});

test('after gc the cache starts again and knows exactly what is left', async (t) => {
  const { data, open, work } = await setup(t);
  const { vault, cache, local } = await open('laptop');
  const first = await backup(vault, { paths: [data], workers: 1 });
  const other = join(work, 'other');
  await mkdir(other);
  await writeFile(join(other, 'x'), randomBytes(4000));
  const second = await backup(vault, { paths: [other], workers: 1 });
  await vault.repo.forgetSnapshots([first.snapshotId]);
  await local.gc({ graceMs: 0 });
  const report = await cache.sync(vault.repo);
  assert.equal(report.restarted, true, 'gc removed blobs: a new generation');
  const left = new Set([
    ...(await local.listBlobIds('data')),
    ...(await local.listBlobIds('tree')),
    ...(await local.listBlobIds('snapshot')),
  ]);
  assert.ok(left.has(second.snapshotId));
  assert.deepEqual(cache.missing([...left]), new Set());
  assert.equal(cache.missing([first.snapshotId])?.size, 1, 'a collected blob is no longer believed in');
});

test('a commit refused for blobs collected behind the cache re-uploads them, and the backup succeeds', async (t) => {
  const { data, open, repoDir, work } = await setup(t);
  const { vault, calls } = await open('laptop');
  const first = await backup(vault, { paths: [data], workers: 1 });
  await (vault.repo as CachedRepository).synced();
  // Another process forgets that backup and collects its blobs, after this one caught up.
  const elsewhere = await openRepository(repoDir, 'pw');
  await elsewhere.repo.forgetSnapshots([first.snapshotId]);
  await (elsewhere.repo as LocalRepository).gc({ graceMs: 0 });
  await elsewhere.repo.close();

  const again = await backup(vault, { paths: [data], workers: 1 });
  assert.equal(
    calls.commitSnapshot,
    3,
    'the first commit of the second backup was refused, the next one taken',
  );
  assert.ok(again.summary.bytesAdded > 0, 'the blobs the cache wrongly believed in were sent');
  const target = join(work, 'restored');
  await restore(vault, await vault.findSnapshot(again.snapshotId), { target });
  for (const name of ['f0', 'sub/f1', 'sub/f39']) {
    assert.deepEqual(await readFile(join(target, name)), await readFile(join(data, name)));
  }
});

test('two backups at once on one device share the cache without harm', async (t) => {
  const { data, open, work } = await setup(t);
  const other = join(work, 'other');
  await mkdir(other);
  for (let i = 0; i < 20; i++) await writeFile(join(other, `g${i}`), randomBytes(2500));
  const a = await open('laptop');
  const b = await open('laptop');
  await Promise.all([
    backup(a.vault, { paths: [data], workers: 1 }),
    backup(b.vault, { paths: [other], workers: 1 }),
  ]);
  await a.vault.repo.close();
  await b.vault.repo.close();
  const check = IndexCache.open(join(work, 'laptop'), a.vault.config.id);
  t.after(() => check.close());
  const { local } = await open('elsewhere');
  await check.sync(local);
  const all = [...(await local.listBlobIds('data')), ...(await local.listBlobIds('tree'))];
  assert.deepEqual(check.missing(all), new Set());
});
