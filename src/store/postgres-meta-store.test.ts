import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type pg from 'pg';
import { findPostgres, NO_POSTGRES, startPostgres, type TestPostgres } from '../../test/helpers/postgres.ts';
import { isCumulusError } from '../core/errors.ts';
import { MemoryBlobStore } from './memory-blob-store.ts';
import { metaStoreContract } from './meta-store.contract.ts';
import { inTransaction, openPostgresPool } from './postgres.ts';
import { lockAccount, PostgresMetaStore } from './postgres-meta-store.ts';
import { decodeRefset } from './refset.ts';
import { RepositoryStore } from './repository-store.ts';
import { commitOf, makePack, randomId } from './testing.ts';

const skip = findPostgres() === undefined ? NO_POSTGRES : undefined;
let cluster: TestPostgres | undefined;
let url: string;
const pools: pg.Pool[] = [];
/** pool opens a pool of its own: two pools stand for two server processes. */
const pool = () => {
  const opened = openPostgresPool(url);
  pools.push(opened);
  return opened;
};
before(async () => {
  if (skip) return;
  cluster = await startPostgres();
  url = await cluster.database();
});
after(async () => {
  await Promise.all(pools.map((p) => p.end()));
  await cluster?.stop();
});

const account = () => randomId().slice(0, 32);

// Every test is an account of its own in one shared database: they must not see each other.
metaStoreContract('postgres', async () => new PostgresMetaStore(pools[0] ?? pool(), account()), { skip });

describe('PostgreSQL: accounts share the tables, not their rows', { skip }, () => {
  test('the same pack in two accounts is indexed, counted and deleted apart', async () => {
    const shared = pool();
    const a = new RepositoryStore(new PostgresMetaStore(shared, account()), new MemoryBlobStore());
    const b = new RepositoryStore(new PostgresMetaStore(shared, account()), new MemoryBlobStore());
    const data = makePack([1000, 2000]);
    const snap = makePack([{ length: 10, type: 'snapshot' }]);
    for (const store of [a, b]) {
      await store.addPack(data.bytes, data.id);
      await store.addPack(snap.bytes, snap.id);
    }
    await a.commitSnapshot(commitOf(snap.blobs[0], { ['aa'.repeat(16)]: data.blobs }));
    assert.equal((await a.usage()).referencedBytes, 3010);
    assert.equal((await b.usage()).referencedBytes, 0, "a's snapshot references nothing of b's");
    assert.equal((await b.listSnapshots()).length, 0);
    assert.equal((await b.usage()).blobs, 3);
    await a.forgetSnapshots([snap.blobs[0].id]);
    assert.equal((await a.usage()).referencedBytes, 0);
    await b.commitSnapshot(commitOf(snap.blobs[0], { ['bb'.repeat(16)]: data.blobs }));
    assert.equal((await b.usage()).referencedBytes, 3010);
  });

  test('commits of one account from two processes at once keep the quota exactly', async () => {
    const id = account();
    const blobs = new MemoryBlobStore();
    const stores = [pool(), pool()].map((p) => new RepositoryStore(new PostgresMetaStore(p, id), blobs));
    // Twelve commits of 1,000 new bytes each (and a 10-byte snapshot blob) against room for five.
    const commits = [];
    for (let i = 0; i < 12; i++) {
      const data = makePack([1000]);
      const snap = makePack([{ length: 10, type: 'snapshot' }]);
      await stores[0].addPack(data.bytes, data.id);
      await stores[0].addPack(snap.bytes, snap.id);
      commits.push(commitOf(snap.blobs[0], { [randomId().slice(0, 32)]: data.blobs }));
    }
    const quota = 5 * 1010;
    const results = await Promise.allSettled(
      commits.map((commit, i) => stores[i % 2].commitSnapshot(commit, { maxReferencedBytes: quota })),
    );
    const refused = results.filter((r) => r.status === 'rejected');
    assert.equal(results.length - refused.length, 5, 'exactly as many as fit');
    for (const r of refused) assert.ok(isCumulusError((r as PromiseRejectedResult).reason, 'quota_exceeded'));
    const usage = await stores[1].usage();
    assert.equal(usage.referencedBytes, quota);

    // The count kept in ref_count equals a recount from the reference sets themselves.
    const recount = await pools[0].query<{ data: Buffer }>('SELECT data FROM refsets WHERE account = $1', [
      id,
    ]);
    const rows = new Set(recount.rows.flatMap((r) => decodeRefset(r.data)));
    const snapshotBlobs = await pools[0].query<{ blob: number }>(
      'SELECT blob FROM snapshots WHERE account = $1',
      [id],
    );
    for (const s of snapshotBlobs.rows) rows.add(s.blob);
    const bytes = await pools[0].query<{ sum: number }>(
      'SELECT coalesce(sum(length), 0) AS sum FROM blobs WHERE row = ANY($1::bigint[])',
      [[...rows]],
    );
    assert.equal(bytes.rows[0].sum, usage.referencedBytes);
  });

  test("an account's writes waiting on its lock held elsewhere leave the pool to other accounts", {
    timeout: 60_000,
  }, async () => {
    const busy = account();
    const other = account();
    const small = openPostgresPool(url, { max: 2 });
    pools.push(small);
    const pack = makePack([100]);
    // Another replica holds the busy account's lock until released.
    let release = () => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    let locked = () => {};
    const holding = new Promise<void>((resolve) => (locked = resolve));
    const elsewhere = inTransaction(pools[0] ?? pool(), 'BEGIN', async (client) => {
      await lockAccount(client, busy);
      locked();
      await released;
    });
    await holding;
    const waiting = [1, 2, 3].map(() =>
      new RepositoryStore(new PostgresMetaStore(small, busy), new MemoryBlobStore()).addPack(
        pack.bytes,
        pack.id,
      ),
    );
    const store = new RepositoryStore(new PostgresMetaStore(small, other), new MemoryBlobStore());
    assert.deepEqual(await store.addPack(pack.bytes, pack.id), { newBlobs: 1, bytes: pack.bytes.length });
    release();
    await elsewhere;
    const added = await Promise.all(waiting);
    assert.equal(added.filter((a) => a.newBlobs === 1).length, 1, 'the busy account indexed the pack once');
  });
});
