import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, test } from 'node:test';
import type pg from 'pg';
import { findPostgres, NO_POSTGRES, startPostgres, type TestPostgres } from '../../test/helpers/postgres.ts';
import { BLOB_TYPES } from '../core/pack.ts';
import { MemoryBlobStore } from './memory-blob-store.ts';
import type { MetaStore } from './meta-store.ts';
import { openPostgresPool } from './postgres.ts';
import { importSqliteIndex } from './postgres-import.ts';
import { PostgresMetaStore } from './postgres-meta-store.ts';
import { RepositoryStore } from './repository-store.ts';
import { SqliteMetaStore } from './sqlite-meta-store.ts';
import { commitOf, ManualClock, makePack, randomId, type TestBlob } from './testing.ts';

const skip = findPostgres() === undefined ? NO_POSTGRES : undefined;
let cluster: TestPostgres | undefined;
let pool: pg.Pool;
const work = mkdtempSync(join(tmpdir(), 'cumulus-import-'));
before(async () => {
  if (skip) return;
  cluster = await startPostgres();
  pool = openPostgresPool(await cluster.database());
});
after(async () => {
  await pool?.end();
  await cluster?.stop();
  rmSync(work, { recursive: true, force: true });
});

const account = () => randomId().slice(0, 32);

/** view is everything a server reads from an index, in one comparable shape. */
async function view(meta: MetaStore) {
  const breakdown = await meta.storageBreakdown();
  return {
    usage: await meta.usage(),
    snapshots: (await meta.listSnapshots()).sort((a, b) => a.id.localeCompare(b.id)),
    packs: (await meta.listPacks()).sort((a, b) => a.id.localeCompare(b.id)),
    blobs: await Promise.all(BLOB_TYPES.map(async (type) => (await meta.listBlobIds(type)).sort())),
    breakdown: { ...breakdown, devices: breakdown.devices.sort((a, b) => a.device.localeCompare(b.device)) },
    condemned: (await meta.condemnedPacks()).map((p) => p.id).sort(),
  };
}

/**
 * populate writes a repository with what a server's index holds after a while: two
 * devices, sources sharing blobs, a forgotten snapshot, and packs gc condemned.
 */
async function populate(store: RepositoryStore, clock: ManualClock): Promise<void> {
  const data: TestBlob[] = [];
  for (let p = 0; p < 4; p++) {
    const pack = makePack(Array.from({ length: 300 }, (_, i) => 100 + ((i * 37 + p) % 900)));
    await store.addPack(pack.bytes, pack.id);
    data.push(...pack.blobs);
  }
  const trees = makePack(Array.from({ length: 12 }, () => ({ length: 64, type: 'tree' as const })));
  const snapshots = makePack(Array.from({ length: 6 }, () => ({ length: 40, type: 'snapshot' as const })));
  await store.addPack(trees.bytes, trees.id);
  await store.addPack(snapshots.bytes, snapshots.id);
  for (let s = 0; s < 6; s++) {
    // Overlapping slices: a later snapshot shares most blobs with the one before.
    const docs = [trees.blobs[2 * s], ...data.slice(s * 150, s * 150 + 500)];
    const photos = [trees.blobs[2 * s + 1], ...data.filter((_, i) => i % (s + 2) === 0)];
    await store.commitSnapshot(
      commitOf(
        snapshots.blobs[s],
        { ['aa'.repeat(16)]: docs, ['bb'.repeat(16)]: photos },
        { device: s % 2 === 0 ? 'laptop' : 'phone', time: `2030-01-0${s + 1}T00:00:00.000Z` },
      ),
    );
  }
  await store.forgetSnapshots([snapshots.blobs[0].id]);
  // Garbage (a pack no snapshot names) is condemned by gc and kept for the grace.
  const garbage = makePack([500, 600]);
  await store.addPack(garbage.bytes, garbage.id);
  clock.advance(60 * 60_000);
  await store.gc({ graceMs: 30 * 60_000 });
  await store.close();
}

describe('importSqliteIndex: an embedded index into the shared PostgreSQL tables', { skip }, () => {
  test('what the server reads is the same, row numbers renumbered, and the imported account keeps working', async () => {
    // Another account's rows first, so the imported rows cannot keep their numbers.
    const otherId = account();
    const other = new RepositoryStore(new PostgresMetaStore(pool, otherId), new MemoryBlobStore());
    const otherPack = makePack([10, 20, 30]);
    await other.addPack(otherPack.bytes, otherPack.id);
    const otherBefore = await view(new PostgresMetaStore(pool, otherId));

    const path = join(work, 'one.sqlite');
    const clock = new ManualClock();
    const blobs = new MemoryBlobStore();
    await populate(new RepositoryStore(new SqliteMetaStore(path), blobs, clock.read), clock);
    const source = new SqliteMetaStore(path);
    const expected = await view(source);
    assert.ok(
      expected.condemned.length > 0 && expected.snapshots.length === 5,
      'the fixture has what it should',
    );

    const id = account();
    const counts = await importSqliteIndex(pool, id, path);
    assert.equal(counts.snapshots, 5);
    assert.equal(counts.blobs, expected.usage.blobs);
    const imported = new PostgresMetaStore(pool, id);
    assert.deepEqual(await view(imported), expected);
    assert.notEqual(
      (await imported.blobsSince(0, 1)).generation,
      (await source.blobsSince(0, 1)).generation,
      "a device cache's cursor counts the old rows: it must start again",
    );
    assert.deepEqual(await view(new PostgresMetaStore(pool, otherId)), otherBefore, 'nothing else changed');

    // Again: the account's rows are replaced, not doubled.
    await importSqliteIndex(pool, id, path);
    assert.deepEqual(await view(imported), expected);

    // The server goes on with it: a new snapshot of blobs it holds, a forget and a collection.
    const store = new RepositoryStore(imported, blobs, clock.read);
    const [snapshot] = makePack([{ length: 40, type: 'snapshot' }]).blobs;
    const next = makePack([{ length: 40, type: 'snapshot', id: snapshot.id }]);
    await store.addPack(next.bytes, next.id);
    const kept = expected.blobs[0].slice(0, 50);
    await store.commitSnapshot({
      id: snapshot.id,
      time: '2030-02-01T00:00:00.000Z',
      device: 'laptop',
      sources: [{ id: 'cc'.repeat(16), tree: kept[0], logicalSize: 1, refs: kept }],
    });
    assert.equal((await store.listSnapshots()).length, 6);
    await store.forgetSnapshots(expected.snapshots.map((s) => s.id));
    clock.advance(60 * 60_000);
    await store.gc({ graceMs: 0 });
    const left = await store.usage();
    assert.equal(left.snapshots, 1);
    assert.equal(left.referencedBlobs, kept.length + 1, 'the kept blobs and the snapshot blob stay');
    await source.close();
  });

  test('an import cut off midway leaves the account as it was', async () => {
    const path = join(work, 'two.sqlite');
    const clock = new ManualClock();
    await populate(new RepositoryStore(new SqliteMetaStore(path), new MemoryBlobStore(), clock.read), clock);
    const id = account();
    await importSqliteIndex(pool, id, path);
    const before = await view(new PostgresMetaStore(pool, id));

    // A copy whose last reference set is damaged: the import fails after most rows are written.
    const damaged = join(work, 'damaged.sqlite');
    copyFileSync(path, damaged);
    const db = new DatabaseSync(damaged);
    db.exec("UPDATE refsets SET data = X'80' WHERE row = (SELECT max(row) FROM refsets)");
    db.close();
    await assert.rejects(importSqliteIndex(pool, id, damaged), /truncated/);
    assert.deepEqual(await view(new PostgresMetaStore(pool, id)), before);
  });
});
