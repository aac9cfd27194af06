/**
 * repositoryContract is the one suite every Repository implementation runs (as restic's
 * backend suite and kopia's blobtesting do): LocalRepository, RemoteRepository against a
 * real server on loopback, and a LocalRepository whose packs go through a FaultyBlobStore.
 * It proves what the engines rely on: putPack is idempotent and durable, a read answers
 * per blob, every fault of storage (a missing, truncated or flipped pack; a full disk; a
 * write that fails every Nth time; slow reads) costs only the blobs it touches, a commit
 * refuses blobs the repository does not hold, and a failed write leaves nothing indexed.
 */
import assert from 'node:assert/strict';
import { chmod, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { describe, type TestContext, test } from 'node:test';
import { isCumulusError } from '../core/errors.ts';
import type { FaultyBlobStore } from '../store/faulty-blob-store.ts';
import { commitOf, makePack, type TestPack } from '../store/testing.ts';
import type { Repository } from './repository.ts';

export interface ContractSubject {
  repo: Repository;
  /** packPath is where the pack's file lives on disk, so a test can damage it as storage would. */
  packPath(packId: string): string;
  /** faults is set when the subject's packs go through a FaultyBlobStore. */
  faults?: FaultyBlobStore;
}

export type MakeSubject = (t: TestContext) => Promise<ContractSubject>;

const SOURCE = 'ab'.repeat(16);

async function put(repo: Repository, ...packs: TestPack[]): Promise<void> {
  for (const pack of packs) await repo.putPack(pack.bytes, pack.id);
}

/** answers maps each blob of the packs to what readBlobs said: its bytes matched, or the problem code. */
async function answers(repo: Repository, packs: TestPack[]): Promise<Map<string, string>> {
  const blobs = packs.flatMap((p) => p.blobs);
  const reads = await repo.readBlobs(blobs.map((b) => b.id));
  return new Map(
    blobs.map((b) => {
      const read = reads.get(b.id);
      assert.ok(read !== undefined, `an answer for every blob asked (${b.id})`);
      return [b.id, read.ok ? (read.bytes.equals(b.sealed) ? 'ok' : 'different bytes') : read.code];
    }),
  );
}

function expect(packs: [TestPack, string][]): Map<string, string> {
  return new Map(packs.flatMap(([pack, answer]) => pack.blobs.map((b) => [b.id, answer])));
}

export function repositoryContract(name: string, make: MakeSubject): void {
  describe(`Repository contract: ${name}`, () => {
    test('putPack is idempotent; missingBlobs names exactly what is absent', async (t) => {
      const { repo } = await make(t);
      const pack = makePack([100, 2000]);
      const absent = makePack([10]).blobs[0].id;
      await put(repo, pack, pack);
      const usage = await repo.usage();
      await put(repo, pack);
      assert.deepEqual(await repo.usage(), usage);
      assert.deepEqual(await repo.missingBlobs([...pack.blobs.map((b) => b.id), absent]), new Set([absent]));
      assert.deepEqual(await answers(repo, [pack]), expect([[pack, 'ok']]));
    });

    test('readBlobs answers every ID: an unknown one is blob_missing, the rest are read', async (t) => {
      const { repo } = await make(t);
      const pack = makePack([300, 40, 5000]);
      await put(repo, pack);
      const absent = makePack([10]).blobs[0].id;
      const reads = await repo.readBlobs([absent, pack.blobs[1].id, absent]);
      assert.equal(reads.size, 2);
      const missing = reads.get(absent);
      assert.ok(missing !== undefined && !missing.ok && missing.code === 'blob_missing');
      assert.doesNotMatch(missing.reason, /\//, 'the reason names IDs, no path');
      assert.deepEqual(reads.get(pack.blobs[1].id), { ok: true, bytes: pack.blobs[1].sealed });
    });

    test('a commit refuses a blob the repository does not hold, and writes nothing', async (t) => {
      const { repo } = await make(t);
      const held = makePack([100, { length: 50, type: 'snapshot' }]);
      const notHeld = makePack([70]);
      await put(repo, held);
      const [data, snapshot] = held.blobs;
      await assert.rejects(
        repo.commitSnapshot(commitOf(snapshot, { [SOURCE]: [data, notHeld.blobs[0]] })),
        (e) =>
          isCumulusError(e, 'blob_missing') &&
          e.details?.count === 1 &&
          JSON.stringify(e.details?.ids) === JSON.stringify([notHeld.blobs[0].id]),
      );
      assert.deepEqual(await repo.listSnapshots(), []);
      await repo.commitSnapshot(commitOf(snapshot, { [SOURCE]: [data] }));
      assert.deepEqual(
        (await repo.listSnapshots()).map((s) => s.id),
        [snapshot.id],
      );
    });

    test('blobsSince pages through what was indexed, in order, from any cursor', async (t) => {
      const { repo } = await make(t);
      const empty = await repo.blobsSince(0);
      assert.deepEqual(empty.ids, []);
      assert.equal(empty.complete, true);
      const first = makePack([100, 200]);
      const second = makePack([300]);
      await put(repo, first, second, first);
      const all = await repo.blobsSince(0);
      assert.deepEqual(
        all.ids,
        [...first.blobs, ...second.blobs].map((b) => b.id),
      );
      assert.equal(all.generation, empty.generation, 'adding blobs keeps the generation');
      assert.deepEqual((await repo.blobsSince(all.cursor)).ids, [], 'nothing after the last cursor');
      const third = makePack([400]);
      await put(repo, third);
      assert.deepEqual((await repo.blobsSince(all.cursor)).ids, [third.blobs[0].id]);
    });

    test('a deleted pack costs only its own blobs', async (t) => {
      const { repo, packPath } = await make(t);
      const lost = makePack([100, 200]);
      const kept = makePack([300]);
      await put(repo, lost, kept);
      await rm(packPath(lost.id));
      assert.deepEqual(
        await answers(repo, [lost, kept]),
        expect([
          [lost, 'pack_missing'],
          [kept, 'ok'],
        ]),
      );
    });

    test('a truncated pack costs only the blobs past the cut', async (t) => {
      const { repo, packPath } = await make(t);
      const cut = makePack([1000, 1000]);
      const kept = makePack([300]);
      await put(repo, cut, kept);
      await chmod(packPath(cut.id), 0o600);
      await truncate(packPath(cut.id), 1500);
      const got = await answers(repo, [cut, kept]);
      assert.deepEqual(got.get(cut.blobs[0].id), 'ok');
      assert.deepEqual(got.get(cut.blobs[1].id), 'pack_damaged');
      assert.deepEqual(got.get(kept.blobs[0].id), 'ok');
    });

    test('a flipped byte changes only the blob it falls in', async (t) => {
      const { repo, packPath } = await make(t);
      const flipped = makePack([500, 500, 500]);
      await put(repo, flipped);
      const path = packPath(flipped.id);
      const bytes = await readFile(path);
      bytes[750] ^= 0x40;
      await chmod(path, 0o600);
      await writeFile(path, bytes);
      const got = await answers(repo, [flipped]);
      assert.deepEqual(
        [...got.values()],
        ['ok', 'different bytes', 'ok'],
        'the store hands the bytes over; opening the blob finds the damage',
      );
    });

    test('a full disk fails the write and leaves nothing indexed; the next write succeeds', async (t) => {
      const { repo, faults } = await make(t);
      if (faults === undefined) return t.skip('storage faults are injected only through a FaultyBlobStore');
      const pack = makePack([100, 200]);
      faults.set({ noSpaceFor: 1 });
      await assert.rejects(repo.putPack(pack.bytes, pack.id), (e) => isCumulusError(e, 'disk_full'));
      assert.equal((await repo.missingBlobs(pack.blobs.map((b) => b.id))).size, 2);
      assert.deepEqual(await answers(repo, [pack]), expect([[pack, 'blob_missing']]));
      await put(repo, pack);
      assert.deepEqual(await answers(repo, [pack]), expect([[pack, 'ok']]));
    });

    test('a write that fails every third time: each failure is whole, a retry stores it', async (t) => {
      const { repo, faults } = await make(t);
      if (faults === undefined) return t.skip('storage faults are injected only through a FaultyBlobStore');
      faults.set({ failEvery: 3 });
      const packs = Array.from({ length: 6 }, () => makePack([64, 128]));
      let failures = 0;
      for (const pack of packs) {
        for (;;) {
          try {
            await repo.putPack(pack.bytes, pack.id);
            break;
          } catch {
            failures++;
            assert.equal((await repo.missingBlobs(pack.blobs.map((b) => b.id))).size, 2, 'nothing indexed');
          }
        }
      }
      assert.ok(failures >= 2, `${failures} writes failed`);
      assert.equal((await repo.usage()).packs, 6);
      assert.deepEqual(await answers(repo, packs), expect(packs.map((p) => [p, 'ok'])));
    });

    test('slow reads still answer every blob, reads in parallel included', async (t) => {
      const { repo, faults } = await make(t);
      if (faults === undefined) return t.skip('storage faults are injected only through a FaultyBlobStore');
      const packs = [makePack([100, 200]), makePack([300])];
      await put(repo, ...packs);
      faults.set({ readDelayMs: 30 });
      const all = await Promise.all([answers(repo, packs), answers(repo, [packs[1]])]);
      assert.deepEqual(all[0], expect(packs.map((p) => [p, 'ok'])));
      assert.deepEqual(all[1], expect([[packs[1], 'ok']]));
    });
  });
}
