/**
 * metaStoreContract is the node:test suite every MetaStore implementation runs (SQLite
 * and PostgreSQL). It drives a RepositoryStore over the MetaStore and an in-memory
 * BlobStore with a hand-moved clock, and checks what a user relies on: nothing lost,
 * usage counted exactly, garbage collected only when safe. `make` returns an empty
 * MetaStore and registers its cleanup on the test context.
 */
import assert from 'node:assert/strict';
import { describe, type TestContext, test } from 'node:test';
import { isCumulusError } from '../core/errors.ts';
import { packId } from '../core/pack.ts';
import { MemoryBlobStore } from './memory-blob-store.ts';
import type { MetaStore } from './meta-store.ts';
import { DEFAULT_GRACE_MS, packName, RepositoryStore, STALE_LOCK_MS } from './repository-store.ts';
import {
  bytesOf,
  commitOf,
  ManualClock,
  makePack,
  randomId,
  readSealed,
  type TestBlob,
  type TestPack,
} from './testing.ts';

export type MakeMetaStore = (t: TestContext) => Promise<MetaStore>;

const MINUTE = 60_000;

async function setup(t: TestContext, make: MakeMetaStore) {
  const clock = new ManualClock();
  const blobs = new MemoryBlobStore(clock.read);
  const alive = new Set<number>([1000]);
  const meta = await make(t);
  const store = new RepositoryStore(meta, blobs, clock.read, {
    host: 'here',
    isProcessAlive: (pid) => alive.has(pid),
  });
  t.after(() => store.close());
  const add = async (...packs: TestPack[]) => {
    for (const pack of packs) await store.addPack(pack.bytes, pack.id);
  };
  return { clock, blobs, meta, store, alive, add };
}

function snapshotBlob(length = 50): { pack: TestPack; blob: TestBlob } {
  const pack = makePack([{ length, type: 'snapshot' }]);
  return { pack, blob: pack.blobs[0] };
}

const SOURCE_X = 'aa'.repeat(16);
const SOURCE_Y = 'bb'.repeat(16);

async function packFiles(blobs: MemoryBlobStore): Promise<string[]> {
  const names: string[] = [];
  for await (const { name } of blobs.list('packs/')) names.push(name);
  return names.sort();
}

export function metaStoreContract(name: string, make: MakeMetaStore, options: { skip?: string } = {}): void {
  describe(`MetaStore contract: ${name}`, { skip: options.skip }, () => {
    test('addPack verifies a pack before writing it, and adding it twice changes nothing', async (t) => {
      const { store, blobs } = await setup(t, make);
      const pack = makePack([100, 200, 300]);
      await assert.rejects(store.addPack(pack.bytes, randomId()), (e) => isCumulusError(e, 'corrupt'));
      const damaged = Buffer.from(pack.bytes);
      damaged[damaged.length - 1] ^= 1;
      await assert.rejects(store.addPack(damaged, packId(damaged)), (e) => isCumulusError(e, 'corrupt'));
      assert.deepEqual(await packFiles(blobs), []);

      assert.deepEqual(await store.addPack(pack.bytes, pack.id), { newBlobs: 3, bytes: pack.bytes.length });
      assert.deepEqual(await store.addPack(pack.bytes, pack.id), { newBlobs: 0, bytes: 0 });
      const usage = await store.usage();
      assert.equal(usage.packs, 1);
      assert.equal(usage.blobs, 3);
      assert.equal(usage.totalPackBytes, pack.bytes.length);

      // A blob already indexed keeps its first location.
      const again = makePack([{ id: pack.blobs[0].id, length: 100 }, 70]);
      assert.equal((await store.addPack(again.bytes, again.id)).newBlobs, 1);
      assert.equal((await store.locate(pack.blobs[0].id))?.packId, pack.id);
    });

    test('addPack refuses a table that names a blob twice, and writes nothing', async (t) => {
      const { store, blobs } = await setup(t, make);
      const id = randomId();
      const twice = makePack([
        { id, length: 1 },
        { id, length: 5000 },
      ]);
      await assert.rejects(store.addPack(twice.bytes, twice.id), (e) => isCumulusError(e, 'invalid_input'));
      assert.deepEqual(await packFiles(blobs), []);
    });

    test('stored bytes count copies of a blob indexed elsewhere until gc rewrites their pack', async (t) => {
      const { store, add, clock } = await setup(t, make);
      const first = makePack([10]);
      const [x] = first.blobs;
      const copy = makePack([{ id: x.id, length: 9000 }, 20]);
      const s = snapshotBlob();
      await add(first, copy, s.pack);
      await store.commitSnapshot(commitOf(s.blob, { [SOURCE_X]: [x, copy.blobs[1]] }));
      assert.equal(
        await store.storedBytes(),
        first.bytes.length + copy.bytes.length + s.pack.bytes.length,
        'the copy counts',
      );
      clock.advance(DEFAULT_GRACE_MS + MINUTE);
      const report = await store.gc();
      assert.equal(report.repackedPacks, 1);
      assert.ok((await store.storedBytes()) < first.bytes.length + s.pack.bytes.length + 200);
      assert.deepEqual(await readSealed(store, x.id), x.sealed);
      assert.deepEqual(await readSealed(store, copy.blobs[1].id), copy.blobs[1].sealed);
      assert.equal((await store.gc()).repackedPacks, 0, 'a pack of only its own blobs is left alone');
    });

    test('missingBlobs names what is absent; readBlobs reads each contiguous run once', async (t) => {
      const { store, blobs, add } = await setup(t, make);
      const a = makePack([10, 20, 30, 40]);
      const b = makePack([50]);
      await add(a, b);
      const absent = randomId();
      assert.deepEqual(await store.missingBlobs([a.blobs[0].id, absent, b.blobs[0].id]), new Set([absent]));

      const reads: string[] = [];
      const get = blobs.get.bind(blobs);
      blobs.get = (n, range) => {
        reads.push(n);
        return get(n, range);
      };
      const wanted = [a.blobs[0], a.blobs[1], a.blobs[3], b.blobs[0]];
      const got = await store.readBlobs(wanted.map((x) => x.id));
      for (const blob of wanted) assert.deepEqual(got.get(blob.id), { ok: true, bytes: blob.sealed });
      assert.equal(reads.length, 3, 'a0+a1 in one read, a3 in another, b0 in a third');
      assert.deepEqual(await readSealed(store, a.blobs[2].id), a.blobs[2].sealed);
      const mixed = await store.readBlobs([absent, a.blobs[2].id]);
      assert.deepEqual(mixed.get(absent), {
        ok: false,
        code: 'blob_missing',
        reason: `blob ${absent} is not in the index`,
      });
      assert.deepEqual(mixed.get(a.blobs[2].id), { ok: true, bytes: a.blobs[2].sealed });
    });

    test('commit, forget and usage count each stored blob once', async (t) => {
      const { store, blobs, add } = await setup(t, make);
      const data = makePack([100, 200, 300, 400]);
      const [tree, d1, d2, d3] = data.blobs;
      const s1 = snapshotBlob(10);
      const s2 = snapshotBlob(20);
      await add(data, s1.pack, s2.pack);
      await store.commitSnapshot(commitOf(s1.blob, { [SOURCE_X]: [tree, d1, d2] }, { logicalSize: 1000 }));
      await store.commitSnapshot(
        commitOf(
          s2.blob,
          { [SOURCE_X]: [tree, d1, d2], [SOURCE_Y]: [d2, d3] },
          { logicalSize: 1000, time: '2030-01-02T00:00:00.000Z' },
        ),
      );
      let usage = await store.usage();
      assert.equal(usage.referencedBytes, 100 + 200 + 300 + 400 + 10 + 20);
      assert.equal(usage.referencedBlobs, 6);
      assert.equal(usage.logicalBytes, 3000);
      assert.equal(usage.snapshots, 2);
      const listed = await store.listSnapshots();
      assert.deepEqual(
        listed.map((s) => [s.id, s.sources.map((x) => x.id)]),
        [
          [s1.blob.id, [SOURCE_X]],
          [s2.blob.id, [SOURCE_X, SOURCE_Y]],
        ],
      );
      assert.equal(listed[0].sources[0].tree, tree.id);

      // Committing the same snapshot again is a no-op.
      await store.commitSnapshot(commitOf(s1.blob, { [SOURCE_X]: [tree, d1, d2] }, { logicalSize: 1000 }));
      assert.equal((await store.usage()).snapshots, 2);

      assert.equal(await store.forgetSnapshots([s2.blob.id]), 400 + 20);
      usage = await store.usage();
      assert.equal(usage.referencedBytes, 100 + 200 + 300 + 10);
      assert.equal(usage.snapshots, 1);
      assert.deepEqual(await store.forgottenSnapshots(), new Set([s2.blob.id]));
      assert.equal(await blobs.size(`forgotten/${s2.blob.id}`), 0);
      assert.equal(await store.forgetSnapshots([s1.blob.id]), 100 + 200 + 300 + 10);
      assert.equal((await store.usage()).referencedBytes, 0);
    });

    test('a commit that references a missing blob fails and writes nothing', async (t) => {
      const { store, add } = await setup(t, make);
      const data = makePack([100]);
      const s = snapshotBlob();
      await add(data, s.pack);
      const ghosts = [randomId(), randomId(), randomId()];
      const commit = commitOf(s.blob, { [SOURCE_X]: data.blobs });
      commit.sources[0].refs.push(...ghosts);
      await assert.rejects(store.commitSnapshot(commit), (e) => {
        assert.ok(isCumulusError(e, 'blob_missing'));
        assert.equal(e.details?.count, 3);
        assert.deepEqual(new Set(e.details?.ids as string[]), new Set(ghosts));
        return true;
      });
      assert.deepEqual(await store.listSnapshots(), []);
      assert.equal((await store.usage()).referencedBytes, 0);
      // The snapshot blob itself must be stored too.
      await assert.rejects(
        store.commitSnapshot(commitOf({ ...s.blob, id: randomId() }, { [SOURCE_X]: data.blobs })),
        (e) => isCumulusError(e, 'blob_missing'),
      );
    });

    test('a commit over the quota is refused with the numbers, and nothing is written', async (t) => {
      const { store, add } = await setup(t, make);
      const data = makePack([1000, 2000, 4000]);
      const [a, b, c] = data.blobs;
      const s1 = snapshotBlob(10);
      const s2 = snapshotBlob(10);
      const s3 = snapshotBlob(10);
      await add(data, s1.pack, s2.pack, s3.pack);
      const first = commitOf(s1.blob, { [SOURCE_X]: [a, b] });
      assert.deepEqual(await store.commitSnapshot(first, { maxReferencedBytes: 3010 }), {
        referencedBytes: 3010,
        addedBytes: 3010,
      });
      // The same snapshot again adds nothing; without a quota nothing is counted.
      assert.deepEqual(await store.commitSnapshot(first, { maxReferencedBytes: 3010 }), {
        referencedBytes: 3010,
        addedBytes: 0,
      });
      assert.equal(await store.commitSnapshot(first), undefined);
      await assert.rejects(
        store.commitSnapshot(commitOf(s2.blob, { [SOURCE_X]: [a, b, c] }), { maxReferencedBytes: 5000 }),
        (e) => {
          assert.ok(isCumulusError(e, 'quota_exceeded'));
          assert.deepEqual(e.details, { usage: 3010, quota: 5000, needed: 4010, shortfall: 2020 });
          return true;
        },
      );
      assert.equal((await store.listSnapshots()).length, 1);
      assert.equal((await store.usage()).referencedBytes, 3010);
      // Blobs already referenced cost nothing again: only the new snapshot blob counts.
      assert.deepEqual(
        await store.commitSnapshot(commitOf(s3.blob, { [SOURCE_Y]: [b, a] }), { maxReferencedBytes: 3020 }),
        { referencedBytes: 3020, addedBytes: 10 },
      );
      assert.equal((await store.usage()).referencedBytes, 3020);
    });

    test('the storage breakdown is exact, and deleting a source or device frees what it promised', async (t) => {
      const { store, add, clock } = await setup(t, make);
      const data = makePack([1000, 2000, 300, 4000, 500, 6000]);
      const [x1, x2, y1, shared, common, onlyB] = data.blobs;
      const a1 = snapshotBlob(11);
      const a2 = snapshotBlob(12);
      const b1 = snapshotBlob(13);
      await add(data, a1.pack, a2.pack, b1.pack);
      await store.commitSnapshot(
        commitOf(
          a1.blob,
          { [SOURCE_X]: [x1, x2, shared, common] },
          { device: 'A', time: '2030-01-01T00:00:00Z', logicalSize: 10 },
        ),
      );
      await store.commitSnapshot(
        commitOf(
          a2.blob,
          { [SOURCE_X]: [x1, shared, common], [SOURCE_Y]: [y1, shared] },
          { device: 'A', time: '2030-01-02T00:00:00Z', logicalSize: 20 },
        ),
      );
      await store.commitSnapshot(
        commitOf(b1.blob, { [SOURCE_X]: [common, onlyB] }, { device: 'B', logicalSize: 30 }),
      );

      const all = [x1, x2, y1, shared, common, onlyB, a1.blob, a2.blob, b1.blob];
      const breakdown = await store.storageBreakdown();
      assert.equal(breakdown.referencedBytes, bytesOf(all));
      assert.equal((await store.usage()).referencedBytes, bytesOf(all));
      const [deviceA, deviceB] = breakdown.devices;
      assert.equal(deviceA.device, 'A');
      assert.equal(deviceA.storedBytes, bytesOf([x1, x2, y1, shared, common, a1.blob, a2.blob]));
      assert.equal(deviceA.exclusiveBytes, bytesOf([x1, x2, y1, shared, a1.blob, a2.blob]));
      assert.equal(deviceA.logicalSize, 40);
      assert.equal(deviceA.snapshots, 2);
      const sourceX = deviceA.sources.find((s) => s.id === SOURCE_X)!;
      const sourceY = deviceA.sources.find((s) => s.id === SOURCE_Y)!;
      assert.deepEqual(sourceX, {
        id: SOURCE_X,
        logicalSize: 20,
        storedBytes: bytesOf([x1, x2, shared, common, a1.blob, a2.blob]),
        exclusiveBytes: bytesOf([x1, x2, a1.blob]),
        snapshots: 2,
        latestTime: '2030-01-02T00:00:00Z',
      });
      assert.equal(sourceY.storedBytes, bytesOf([y1, shared, a2.blob]));
      assert.equal(sourceY.exclusiveBytes, bytesOf([y1]));
      assert.equal(deviceB.storedBytes, bytesOf([common, onlyB, b1.blob]));
      assert.equal(deviceB.exclusiveBytes, bytesOf([onlyB, b1.blob]));

      const gcNow = () => store.gc({ graceMs: 0, repackThreshold: 0 });
      clock.advance(1);
      let before = (await store.usage()).referencedBytes;
      assert.equal(await store.deleteSource('A', SOURCE_X), sourceX.exclusiveBytes);
      await gcNow();
      assert.equal((await store.usage()).referencedBytes, before - sourceX.exclusiveBytes);
      assert.equal((await store.usage()).blobs, (await store.usage()).referencedBlobs, 'no garbage after gc');
      for (const gone of [x1, x2, a1.blob]) assert.equal(await store.locate(gone.id), undefined);
      assert.deepEqual(
        (await store.listSnapshots()).map((s) => [s.id, s.sources.map((x) => x.id)]),
        [
          [b1.blob.id, [SOURCE_X]],
          [a2.blob.id, [SOURCE_Y]],
        ],
        'listed by time; a2 keeps only Y; a1, left with no source, is gone',
      );
      assert.ok((await store.forgottenSnapshots()).has(a1.blob.id), 'the emptied snapshot is tombstoned');
      const afterSource = await store.storageBreakdown();
      assert.equal(afterSource.devices[0].sources[0].exclusiveBytes, bytesOf([y1, shared, a2.blob]));

      // With source X of A gone, the blob A shared with B is B's alone now.
      const promised = afterSource.devices[1].exclusiveBytes;
      assert.equal(promised, bytesOf([common, onlyB, b1.blob]));
      before = (await store.usage()).referencedBytes;
      assert.equal(await store.deleteDevice('B'), promised);
      await gcNow();
      assert.equal((await store.usage()).referencedBytes, before - promised);
      assert.deepEqual(
        (await store.storageBreakdown()).devices.map((d) => d.device),
        ['A'],
      );
      for (const kept of [y1, shared, a2.blob])
        assert.deepEqual(await readSealed(store, kept.id), kept.sealed);
    });

    test('gc deletes garbage packs, repacks mostly-garbage ones, keeps young blobs; dry run changes nothing', async (t) => {
      const { store, blobs, add, clock, meta } = await setup(t, make);
      const allGarbage = makePack([1000, 1000, 1000, 1000]);
      const mostlyGarbage = makePack([1000, 9000]);
      const littleGarbage = makePack([9000, 1000]);
      const s = snapshotBlob(10);
      await add(allGarbage, mostlyGarbage, littleGarbage, s.pack);
      const [live1, garbage1] = mostlyGarbage.blobs;
      const [live2] = littleGarbage.blobs;
      await store.commitSnapshot(commitOf(s.blob, { [SOURCE_X]: [live1, live2] }));
      clock.advance(DEFAULT_GRACE_MS + MINUTE);
      const young = makePack([100]);
      await add(young);

      const before = await store.usage();
      const dry = await store.gc({ dryRun: true });
      assert.deepEqual(await store.usage(), before);
      assert.equal(await blobs.size(packName(allGarbage.id)), allGarbage.bytes.length);

      const report = await store.gc();
      assert.deepEqual(
        { ...report, freedBytes: 0 },
        { ...dry, freedBytes: 0 },
        'a dry run predicts the real one',
      );
      assert.equal(report.unreferencedBlobs, 4 + 1 + 1 + 1);
      assert.equal(report.deletedBlobs, 4 + 1);
      assert.equal(report.deletedPacks, 1);
      assert.equal(report.repackedPacks, 1);
      assert.equal(report.keptYoungBlobs, 1);
      assert.deepEqual(
        [report.condemnedPacks, report.purgedPacks],
        [2, 0],
        'both old files kept for the grace',
      );
      assert.equal(await blobs.size(packName(allGarbage.id)), allGarbage.bytes.length);
      assert.equal(await blobs.size(packName(mostlyGarbage.id)), mostlyGarbage.bytes.length);
      const after = await store.usage();
      assert.equal(after.totalPackBytes, before.totalPackBytes - report.freedBytes);
      assert.equal(after.referencedBytes, before.referencedBytes);
      assert.equal(after.blobs, before.blobs - 5);
      assert.equal(await store.locate(garbage1.id), undefined);
      assert.notEqual((await store.locate(live1.id))?.packId, mostlyGarbage.id);
      assert.equal(
        (await store.locate(littleGarbage.blobs[1].id))?.packId,
        littleGarbage.id,
        'below the threshold',
      );
      for (const blob of [live1, live2, young.blobs[0], s.blob])
        assert.deepEqual(await readSealed(store, blob.id), blob.sealed);
      assert.ok((await store.checkPacks({ readData: true })).every((c) => c.ok));
      clock.advance(DEFAULT_GRACE_MS + MINUTE);
      const purge = await store.gc();
      assert.deepEqual(
        [purge.purgedPacks, purge.deletedPacks, purge.condemnedPacks],
        [2, 1, 1],
        'the two old files go; the young pack is garbage now, and condemned',
      );
      const indexed = (await meta.listPacks()).map((p) => packName(p.id));
      assert.deepEqual(
        await packFiles(blobs),
        [...indexed, packName(young.id)].sort(),
        'no file left behind, none missing',
      );
    });

    test('gc leaves alone a pack whose garbage a writer touched after the plan was made', async (t) => {
      const { store, add, clock, meta } = await setup(t, make);
      const allGarbage = makePack([1000, 1000]);
      const mostlyGarbage = makePack([100, 9000]);
      const s = snapshotBlob();
      await add(allGarbage, mostlyGarbage, s.pack);
      await store.commitSnapshot(commitOf(s.blob, { [SOURCE_X]: [mostlyGarbage.blobs[0]] }));
      clock.advance(DEFAULT_GRACE_MS + MINUTE);
      const plan = meta.gcPlan.bind(meta);
      meta.gcPlan = async (cutoff, threshold) => {
        const result = await plan(cutoff, threshold);
        // A backup is told these blobs exist between the plan and the deletions.
        await store.missingBlobs([allGarbage.blobs[0].id, mostlyGarbage.blobs[1].id]);
        return result;
      };
      const report = await store.gc();
      assert.equal(report.repackedPacks, 0);
      for (const blob of [allGarbage.blobs[0], mostlyGarbage.blobs[1]]) {
        assert.deepEqual(await readSealed(store, blob.id), blob.sealed);
      }
      assert.equal(await store.locate(allGarbage.blobs[1].id), undefined, 'its untouched neighbour went');
    });

    test('gc interrupted at any step leaves every snapshot readable, and the next gc finishes', async (t) => {
      const { store, blobs, add, clock, meta } = await setup(t, make);
      const steps = ['put', 'condemnPacks', 'repointPack', 'dropPacks', 'delete'] as const;
      for (const step of steps) {
        const dropped = makePack([1000, 1000]);
        const repacked = makePack([100, 9000]);
        const s = snapshotBlob();
        await add(dropped, repacked, s.pack);
        await store.commitSnapshot(commitOf(s.blob, { [SOURCE_X]: [repacked.blobs[0]] }));
        clock.advance(DEFAULT_GRACE_MS + MINUTE);
        if (step === 'delete') {
          // Files are deleted only once condemned packs are past their grace.
          await store.gc();
          clock.advance(DEFAULT_GRACE_MS + MINUTE);
        }
        const target: object = step === 'put' || step === 'delete' ? blobs : meta;
        const crash = async () => {
          throw new Error(`crash at ${step}`);
        };
        Object.defineProperty(target, step, { value: crash, configurable: true });
        await assert.rejects(store.gc(), /crash/);
        // Back to the prototype's method.
        Reflect.deleteProperty(target, step);
        for (const blob of [repacked.blobs[0], s.blob])
          assert.deepEqual(await readSealed(store, blob.id), blob.sealed, step);
        for (let run = 0; run < 2; run++) {
          clock.advance(DEFAULT_GRACE_MS + MINUTE);
          await store.gc();
        }
        assert.ok(
          (await store.checkPacks({ readData: true })).every((c) => c.ok),
          step,
        );
        const indexed = (await meta.listPacks()).map((p) => packName(p.id)).sort();
        assert.deepEqual(await packFiles(blobs), indexed, `${step}: no orphan left`);
        assert.deepEqual(await meta.condemnedPacks(), [], `${step}: nothing left condemned`);
        assert.deepEqual(await readSealed(store, repacked.blobs[0].id), repacked.blobs[0].sealed);
        await store.forgetSnapshots([s.blob.id]);
      }
    });

    test('a condemned pack stays readable for the grace and for older write sessions; a commit naming its blobs is refused', async (t) => {
      const { store, blobs, add, clock, meta } = await setup(t, make);
      const garbage = makePack([500, 600]);
      const s = snapshotBlob();
      await add(garbage, s.pack);
      clock.advance(DEFAULT_GRACE_MS + MINUTE);
      // A reader located a blob before gc condemned its pack.
      const located = await store.locate(garbage.blobs[0].id);
      await store.missingBlobs([s.blob.id]);
      const session = await store.beginWrite({ host: 'here', pid: 1000, kind: 'backup' });
      clock.advance(MINUTE);
      assert.equal((await store.gc()).condemnedPacks, 1);
      assert.equal(await store.locate(garbage.blobs[0].id), undefined, 'out of the index');
      assert.deepEqual(
        await blobs.get(packName(garbage.id), { offset: located!.offset, length: located!.length }),
        garbage.blobs[0].sealed,
        'the file is still there for the reader',
      );
      await assert.rejects(store.commitSnapshot(commitOf(s.blob, { [SOURCE_X]: garbage.blobs })), (e) =>
        isCumulusError(e, 'blob_missing'),
      );
      // The client uploads the blobs again (in a new pack) and commits.
      const again = makePack(garbage.blobs.map((b) => ({ id: b.id, length: b.length })));
      await add(again);
      await store.commitSnapshot(commitOf(s.blob, { [SOURCE_X]: again.blobs }));
      assert.deepEqual(await readSealed(store, again.blobs[1].id), again.blobs[1].sealed);

      clock.advance(DEFAULT_GRACE_MS + MINUTE);
      await meta.heartbeatLock(session.info.id, clock.now);
      const during = await store.gc();
      assert.deepEqual([during.purgedPacks, during.condemnedPacks], [0, 1], 'kept for the older session');
      await session.release();
      const after = await store.gc();
      assert.deepEqual([after.purgedPacks, after.condemnedPacks], [1, 0]);
      assert.equal(await blobs.size(packName(garbage.id)), undefined);
      assert.deepEqual(await readSealed(store, again.blobs[0].id), again.blobs[0].sealed);
    });

    test('a condemned pack added again is indexed and its file kept', async (t) => {
      const { store, blobs, add, clock } = await setup(t, make);
      const pack = makePack([300]);
      await add(pack);
      clock.advance(DEFAULT_GRACE_MS + MINUTE);
      assert.equal((await store.gc()).condemnedPacks, 1);
      await add(pack);
      clock.advance(DEFAULT_GRACE_MS + MINUTE);
      await store.missingBlobs([pack.blobs[0].id]);
      const report = await store.gc();
      assert.deepEqual([report.purgedPacks, report.condemnedPacks], [0, 0]);
      assert.equal(await blobs.size(packName(pack.id)), pack.bytes.length);
      assert.deepEqual(await readSealed(store, pack.blobs[0].id), pack.blobs[0].sealed);
    });

    test('gc keeps the blobs a live writer touched, and ignores stale locks', async (t) => {
      const { store, add, clock, alive, meta } = await setup(t, make);
      const old = makePack([100]);
      const untouched = makePack([200]);
      await add(old, untouched);
      clock.advance(MINUTE);
      const lock = await store.beginWrite({ host: 'here', pid: 1000, kind: 'backup' });
      clock.advance(MINUTE);
      assert.deepEqual(await store.missingBlobs([old.blobs[0].id]), new Set());
      const uploaded = makePack([300]);
      await add(uploaded);
      clock.advance(DEFAULT_GRACE_MS + MINUTE);
      await meta.heartbeatLock(lock.info.id, clock.now);

      await store.gc();
      assert.equal(
        await store.locate(untouched.blobs[0].id),
        undefined,
        'untouched since before the lock: garbage',
      );
      assert.ok(await store.locate(old.blobs[0].id), 'touched by the writer: kept');
      assert.ok(await store.locate(uploaded.blobs[0].id), 'uploaded by the writer: kept');

      // Its process is gone: the lock no longer protects anything.
      alive.delete(1000);
      assert.equal((await store.listLocks())[0].stale, true);
      await store.gc();
      assert.equal(await store.locate(old.blobs[0].id), undefined);
      assert.equal(await store.locate(uploaded.blobs[0].id), undefined);
      assert.equal(await store.removeStaleLocks(), 1);
      await lock.release();
      assert.deepEqual(await store.listLocks(), []);

      // A lock of another host goes stale when its heartbeat stops.
      const remote = await store.beginWrite({ host: 'elsewhere', pid: 1, kind: 'backup' });
      assert.equal((await store.listLocks())[0].stale, false);
      clock.advance(STALE_LOCK_MS + 1);
      assert.equal((await store.listLocks())[0].stale, true);
      await remote.release();
    });

    test('one gc at a time: a run waits for the prune lock another process holds, and takes over a stale one', async (t) => {
      const { store, add, clock, meta } = await setup(t, make);
      const garbage = makePack([100]);
      await add(garbage);
      clock.advance(DEFAULT_GRACE_MS + MINUTE);
      const lock = (id: string, kind: 'backup' | 'prune') => ({
        id,
        host: 'elsewhere',
        pid: 1,
        kind,
        startedAt: clock.now,
        heartbeatAt: clock.now,
      });
      // The claim itself: one prune lock at a time; a writer's lock is no obstacle.
      await meta.addLock(lock('writer', 'backup'));
      assert.equal(await meta.claimLock(lock('first', 'prune'), []), true);
      assert.equal(await meta.claimLock(lock('second', 'prune'), []), false);
      // A lock seen stale but renewed since is not taken over.
      const seen = (await meta.listLocks()).find((l) => l.id === 'first')!;
      await meta.heartbeatLock('first', clock.now + 1);
      assert.equal(await meta.claimLock(lock('second', 'prune'), [seen]), false);

      // Another process's gc holds the lock: this one waits until it is released.
      let finished = false;
      const waiting = store.gc().then((report) => {
        finished = true;
        return report;
      });
      await new Promise((resolve) => setTimeout(resolve, 1000));
      assert.equal(finished, false, 'waits while the other run holds the lock');
      assert.ok(await store.locate(garbage.blobs[0].id), 'and collected nothing meanwhile');
      await meta.removeLock('first');
      assert.equal((await waiting).deletedPacks, 1);
      assert.deepEqual(
        (await meta.listLocks()).map((l) => l.id),
        ['writer'],
        'its own lock is gone with the run',
      );

      // A lock whose process stopped beating is stale: the next run takes it over.
      await meta.addLock(lock('dead', 'prune'));
      clock.advance(STALE_LOCK_MS + 1);
      await meta.heartbeatLock('writer', clock.now);
      await store.gc();
      assert.deepEqual(
        (await meta.listLocks()).map((l) => l.id),
        ['writer'],
      );
    });

    test('blobsSince pages through the blobs in the order indexed; gc and a rebuild start a new generation', async (t) => {
      const { store, add, clock } = await setup(t, make);
      const first = makePack([10, 20, 30]);
      await add(first);
      const all = await store.blobsSince(0, 100);
      assert.deepEqual(
        all.ids,
        first.blobs.map((b) => b.id),
      );
      assert.equal(all.complete, true);
      const page = await store.blobsSince(0, 2);
      assert.deepEqual(
        page.ids,
        first.blobs.slice(0, 2).map((b) => b.id),
      );
      assert.equal(page.complete, false);
      assert.deepEqual((await store.blobsSince(page.cursor, 2)).ids, [first.blobs[2].id]);

      const second = makePack([40, { id: first.blobs[0].id, length: 10 }]);
      await add(second);
      const delta = await store.blobsSince(all.cursor, 100);
      assert.deepEqual(delta.ids, [second.blobs[0].id], 'a blob indexed again is not new');
      assert.equal(delta.generation, all.generation, 'adding keeps the generation');
      assert.deepEqual(await store.blobsSince(delta.cursor, 100), { ...delta, ids: [] });

      // Nothing references these blobs: once past the grace, gc removes them all.
      clock.advance(DEFAULT_GRACE_MS + MINUTE);
      await store.gc();
      const afterGc = await store.blobsSince(0, 100);
      assert.notEqual(afterGc.generation, all.generation, 'a removal voids every cursor');
      assert.deepEqual(afterGc.ids, []);
      const kept = (await store.blobsSince(0, 100)).generation;
      clock.advance(DEFAULT_GRACE_MS + MINUTE);
      assert.equal((await store.gc()).purgedPacks, 2, "the condemned packs' files go after the grace");
      assert.equal((await store.blobsSince(0, 100)).generation, kept, 'a gc that removes nothing keeps it');
      await add(makePack([50]));
      await store.rebuildIndex();
      const rebuilt = await store.blobsSince(0, 100);
      assert.notEqual(rebuilt.generation, kept);
      assert.equal(rebuilt.ids.length, 1);
      await assert.rejects(store.blobsSince(-1, 10), (e) => isCumulusError(e, 'invalid_input'));
    });

    test('a commit that references a blob gc removed fails with blob_missing', async (t) => {
      const { store, add, clock } = await setup(t, make);
      const data = makePack([100]);
      const s = snapshotBlob();
      await add(data, s.pack);
      assert.deepEqual(await store.missingBlobs([data.blobs[0].id]), new Set());
      clock.advance(DEFAULT_GRACE_MS + MINUTE);
      await store.gc();
      await assert.rejects(store.commitSnapshot(commitOf(s.blob, { [SOURCE_X]: data.blobs })), (e) =>
        isCumulusError(e, 'blob_missing'),
      );
    });

    test('a pack written but never indexed (a crash) is removed only after the grace, and a rebuild finds it', async (t) => {
      const { store, blobs, clock, meta } = await setup(t, make);
      const orphan = makePack([100, 200]);
      await blobs.put(packName(orphan.id), orphan.bytes);
      await blobs.put(`${packName(orphan.id)}.tmp-0123`, orphan.bytes.subarray(0, 50));
      clock.advance(MINUTE);
      await store.gc();
      assert.equal(await blobs.size(packName(orphan.id)), orphan.bytes.length, 'young: kept');

      const rebuilt = await store.rebuildIndex();
      assert.deepEqual(rebuilt, { packs: 1, blobs: 2, damagedPacks: [] });
      assert.deepEqual(await readSealed(store, orphan.blobs[1].id), orphan.blobs[1].sealed);

      await meta.resetIndex();
      clock.advance(DEFAULT_GRACE_MS);
      const report = await store.gc();
      assert.equal(report.deletedPacks, 2, 'the orphan and the temporary file');
      assert.deepEqual(await packFiles(blobs), []);
    });

    test('gc leaves the files of a pack being added, even while the index has yet to name it', async (t) => {
      const { store, blobs, clock, meta } = await setup(t, make);
      const pack = makePack([100, 200]);
      let release = () => {};
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      const indexPacks = meta.indexPacks.bind(meta);
      meta.indexPacks = async (...args) => {
        await gate;
        return indexPacks(...args);
      };
      // A temporary file of the same pack, as a folder store leaves it while writing.
      const temporary = `${packName(pack.id)}.tmp-0a1b`;
      await blobs.put(temporary, pack.bytes.subarray(0, 50));
      const adding = store.addPack(pack.bytes, pack.id);
      while ((await blobs.size(packName(pack.id))) === undefined) await new Promise(setImmediate);
      clock.advance(DEFAULT_GRACE_MS + MINUTE);
      await store.gc();
      assert.equal(await blobs.size(temporary), 50, 'the temporary file of a pack being added stays');
      release();
      await adding;
      assert.equal(
        await blobs.size(packName(pack.id)),
        pack.bytes.length,
        'the pack the index names is stored',
      );
      assert.deepEqual(await readSealed(store, pack.blobs[0].id), pack.blobs[0].sealed);
    });

    test('checkPacks names a damaged or missing pack and the blobs it holds', async (t) => {
      const { store, blobs, add } = await setup(t, make);
      const good = makePack([100, 100]);
      const flipped = makePack([100, 200]);
      const lost = makePack([300]);
      await add(good, flipped, lost);
      blobs.corrupt(packName(flipped.id), 9 + 150);
      await blobs.delete(packName(lost.id));

      const quick = await store.checkPacks({ readData: false });
      assert.deepEqual(
        quick.filter((c) => !c.ok).map((c) => [c.packId, c.blobs]),
        [[lost.id, [lost.blobs[0].id]]],
      );
      const full = await store.checkPacks({ readData: true });
      const bad = full
        .filter((c) => !c.ok)
        .sort((a, b) => (a.packId === lost.id ? 1 : b.packId === lost.id ? -1 : 0));
      assert.deepEqual(
        bad.map((c) => [c.packId, c.blobs.sort()]),
        [
          [flipped.id, flipped.blobs.map((b) => b.id).sort()],
          [lost.id, [lost.blobs[0].id]],
        ],
      );
      assert.match(bad[0].problem!, /damaged/);
      assert.match(bad[1].problem!, /missing/);
      assert.ok(full.find((c) => c.packId === good.id)?.ok);
    });

    test('rebuildIndex restores packs and blobs from the files, skipping damaged packs', async (t) => {
      const { store, blobs, add } = await setup(t, make);
      const p1 = makePack([100, { length: 40, type: 'tree' }]);
      const s = snapshotBlob();
      const broken = makePack([500]);
      await add(p1, s.pack, broken);
      await store.commitSnapshot(commitOf(s.blob, { [SOURCE_X]: p1.blobs }));
      blobs.corrupt(packName(broken.id), broken.bytes.length - 1);

      const rebuilt = await store.rebuildIndex();
      assert.deepEqual(rebuilt, { packs: 2, blobs: 3, damagedPacks: [broken.id] });
      assert.deepEqual(await store.listSnapshots(), [], 'snapshot rows are for the client to re-commit');
      assert.deepEqual(await store.listBlobIds('snapshot'), [s.blob.id]);
      assert.deepEqual(await store.listBlobIds('tree'), [p1.blobs[1].id]);
      assert.deepEqual(await readSealed(store, p1.blobs[0].id), p1.blobs[0].sealed);
      await store.commitSnapshot(commitOf(s.blob, { [SOURCE_X]: p1.blobs }));
      assert.equal((await store.usage()).referencedBytes, 100 + 40 + s.blob.length);
    });
  });
}
