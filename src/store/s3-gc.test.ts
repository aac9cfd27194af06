/**
 * Garbage collection and crashes on S3: a RepositoryStore over the SQLite index and an
 * S3BlobStore that talks to s3rver through FaultyS3, with a clock moved by hand (starting
 * at the real time, as the objects' times are s3rver's).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { isCumulusError } from '../core/errors.ts';
import { DEFAULT_GRACE_MS, packName, RepositoryStore } from './repository-store.ts';
import { s3StoreAt, withS3 } from './s3-testing.ts';
import { SqliteMetaStore } from './sqlite-meta-store.ts';
import { commitOf, ManualClock, makePack, readSealed, type TestBlob } from './testing.ts';

const MINUTE = 60_000;
const SOURCE = 'cc'.repeat(16);

const servers = withS3();

async function setup(t: TestContext, options: { maxAttempts?: number } = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'cumulus-s3-gc-'));
  const clock = new ManualClock(Date.now());
  const { store: blobs, close } = s3StoreAt(servers.faulty(), options);
  const store = new RepositoryStore(new SqliteMetaStore(join(dir, 'index.sqlite')), blobs, clock.read);
  t.after(async () => {
    servers.faulty().clear();
    await store.close();
    close();
    await rm(dir, { recursive: true, force: true });
  });
  const packFiles = async () => {
    const names: string[] = [];
    for await (const { name } of blobs.list('packs/')) names.push(name);
    return names.sort();
  };
  return { clock, blobs, store, packFiles };
}

test('a pack upload cut off after the object was stored leaves an orphan that gc collects after the grace', async (t) => {
  const { clock, blobs, store, packFiles } = await setup(t, { maxAttempts: 1 });
  const pack = makePack([2000, 3000]);
  // The object lands; the connection drops before its size is read back, and the upload fails.
  servers.faulty().inject('drop', { method: 'HEAD' });
  await assert.rejects(store.addPack(pack.bytes, pack.id), (e) => isCumulusError(e, 'network'));
  assert.equal(await store.hasPack(pack.id), false, 'nothing was indexed');
  assert.equal(await blobs.size(packName(pack.id)), pack.bytes.length, 'but the object is in the bucket');

  assert.equal((await store.gc()).deletedPacks, 0, 'young: it may be an upload still being indexed');
  clock.advance(DEFAULT_GRACE_MS + MINUTE);
  const report = await store.gc();
  assert.deepEqual([report.deletedPacks, report.freedBytes], [1, pack.bytes.length]);
  assert.deepEqual(await packFiles(), []);

  // The client sends it again, and it is stored and indexed.
  await store.addPack(pack.bytes, pack.id);
  assert.deepEqual(await readSealed(store, pack.blobs[1].id), pack.blobs[1].sealed);
});

test('gc running during uploads through a faulty S3 deletes nothing a snapshot references', async (t) => {
  const { clock, store, packFiles } = await setup(t);
  servers.faulty().rotate(4);
  const committed: TestBlob[] = [];
  let uploading = true;
  const collector = (async () => {
    let runs = 0;
    while (uploading || runs < 2) {
      // No grace at all: only the write sessions protect what the writers touch.
      await store.gc({ graceMs: 0 });
      // Slower than the writers' heartbeats would let their sessions go stale.
      clock.advance(1000);
      runs++;
    }
    return runs;
  })();
  const writer = async (n: number) => {
    const session = await store.beginWrite({ host: 'test', pid: process.pid, kind: 'backup' });
    try {
      for (let round = 0; round < 4; round++) {
        const data = makePack([1000 + n, 5000, 20_000]);
        const snapshot = makePack([{ length: 80, type: 'snapshot' }]);
        await store.addPack(data.bytes, data.id);
        await store.addPack(snapshot.bytes, snapshot.id);
        await store.commitSnapshot(
          commitOf(snapshot.blobs[0], { [SOURCE]: data.blobs }, { time: new Date(clock.now).toISOString() }),
        );
        committed.push(...data.blobs, snapshot.blobs[0]);
      }
    } finally {
      await session.release();
    }
  };
  await Promise.all([writer(1), writer(2), writer(3)]);
  uploading = false;
  assert.ok((await collector) >= 2);
  servers.faulty().clear();

  for (const blob of committed) assert.deepEqual(await readSealed(store, blob.id), blob.sealed);
  const checks = await store.checkPacks({ readData: true });
  assert.ok(
    checks.every((c) => c.ok),
    JSON.stringify(checks.filter((c) => !c.ok)),
  );
  assert.equal((await store.listSnapshots()).length, 12);
  assert.ok(
    servers.faulty().counts.drop + servers.faulty().counts.slowDown + servers.faulty().counts.internalError >
      0,
    'faults were injected',
  );
  // Only referenced packs are left: the bucket holds exactly what the index names.
  const indexed = (await store.usage()).packs;
  assert.equal((await packFiles()).length, indexed);
});
