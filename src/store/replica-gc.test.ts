/**
 * Two server replicas collecting one account's garbage at once: two RepositoryStores, each
 * with a PostgreSQL pool of its own (two processes) on the same account, and an S3 store of
 * its own on the same prefix through FaultyS3, each with its own clock. In the first test
 * writers upload and commit in short write sessions through either replica and forget their
 * older snapshots, so packs become partly garbage (repacked) and wholly garbage (condemned,
 * then purged), while both replicas run gc in loops with no grace at all. The second holds
 * both runs right after their plans, so both planned the same drop.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { findPostgres, NO_POSTGRES, startPostgres, type TestPostgres } from '../../test/helpers/postgres.ts';
import { openPostgresPool } from './postgres.ts';
import { PostgresMetaStore } from './postgres-meta-store.ts';
import { DEFAULT_GRACE_MS, packIdOf, packName, RepositoryStore } from './repository-store.ts';
import { s3StoreAt, withS3 } from './s3-testing.ts';
import { bytesOf, commitOf, makePack, randomId, readSealed, type TestBlob } from './testing.ts';
import type { BlobStore, GcReport } from './types.ts';

const skip = findPostgres() === undefined ? NO_POSTGRES : undefined;
const servers = withS3();
let cluster: TestPostgres | undefined;
let url: string;
before(async () => {
  if (skip) return;
  cluster = await startPostgres();
  url = await cluster.database();
});
after(() => cluster?.stop());

const WRITERS = 4;
const ROUNDS = 8;
/** Rounds of the whole scenario in one test run (each on a fresh account and prefix). */
const RUNS = 3;
const GC = { graceMs: 0, repackThreshold: 0.3 };

/**
 * A replica's clock lags the object store's: with no grace, a pack written just after a
 * session began must not look older than the session (S3 dates objects to the second). The
 * replicas' clocks agree with each other: a session one opens protects the touches another
 * dates only to within their skew, which the grace covers in production, and here is 0.
 */
function replicaClock(lagMs: number) {
  let ahead = 0;
  return { read: () => Date.now() - lagMs + ahead, advance: (ms: number) => (ahead += ms) };
}

/** Gate holds a replica's next listing of pack objects, before it starts, until opened. */
class Gate {
  armed = false;
  #reach = () => {};
  #open = () => {};
  readonly reached = new Promise<void>((resolve) => (this.#reach = resolve));
  readonly opened = new Promise<void>((resolve) => (this.#open = resolve));

  open(): void {
    this.#open();
  }

  async pass(): Promise<void> {
    if (!this.armed) return;
    this.armed = false;
    this.#reach();
    await this.opened;
  }
}

/** gated is `inner` with its listing of packs held by `gate` when armed (gc lists them right after its plan). */
function gated(inner: BlobStore, gate: Gate): BlobStore {
  return {
    put: (name, data) => inner.put(name, data),
    get: (name, range) => inner.get(name, range),
    size: (name) => inner.size(name),
    delete: (name) => inner.delete(name),
    probe: () => inner.probe(),
    list: async function* (prefix) {
      if (prefix === 'packs/') await gate.pass();
      yield* inner.list(prefix);
    },
  };
}

/** replicas opens two replicas of one new account, on one new prefix of the bucket. */
async function replicas() {
  const account = randomId().slice(0, 32);
  const prefix = `race-${randomBytes(6).toString('hex')}`;
  const opened = ['a', 'b'].map((name) => {
    const pool = openPostgresPool(url);
    const clock = replicaClock(2000);
    const blobs = s3StoreAt(servers.faulty(), { prefix });
    const gate = new Gate();
    const store = new RepositoryStore(
      new PostgresMetaStore(pool, account),
      gated(blobs.store, gate),
      clock.read,
      { host: `replica-${name}` },
    );
    return { pool, clock, blobs, gate, store };
  });
  const close = async () => {
    for (const r of opened) {
      await r.store.close();
      await r.pool.end();
      r.blobs.close();
    }
  };
  return { opened, close };
}

interface Totals {
  /** gc runs by replica that ended while the writers were still writing. */
  runs: [number, number];
  repacked: number;
  deleted: number;
  purged: number;
  errors: unknown[];
}

function addReport(totals: Totals, report: GcReport): void {
  totals.repacked += report.repackedPacks;
  totals.deleted += report.deletedPacks;
  totals.purged += report.purgedPacks;
}

async function scenario(): Promise<Totals> {
  const { opened, close } = await replicas();
  const stores = opened.map((r) => r.store);
  const totals: Totals = { runs: [0, 0], repacked: 0, deleted: 0, purged: 0, errors: [] };
  try {
    servers.faulty().rotate(7);
    /** What each snapshot still stored references (its snapshot blob included). */
    const kept = new Map<string, TestBlob[]>();
    let writing = true;
    const collector = async (store: RepositoryStore, replica: number) => {
      while (writing) {
        try {
          addReport(totals, await store.gc(GC));
          if (writing) totals.runs[replica]++;
        } catch (error) {
          totals.errors.push(error);
          return;
        }
        // A pause of a few milliseconds lets the other replica's waiting run take its turn.
        await sleep(Math.random() * 20);
      }
    };
    const writer = async (n: number) => {
      const source = randomBytes(16).toString('hex');
      const snapshots: string[] = [];
      let previous: TestBlob[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        // Any replica answers any request: the session, uploads and the commit go to either.
        const [a, b] = round % 2 === n % 2 ? stores : [stores[1], stores[0]];
        const session = await a.beginWrite({ host: 'device', pid: n, kind: 'backup' });
        try {
          const data = makePack([1500, 2500, 3000, 4000].map((length) => length + n));
          const snapshot = makePack([{ length: 100, type: 'snapshot' }]);
          const refs = [...data.blobs, ...previous.slice(0, 2)];
          await b.addPack(data.bytes, data.id);
          await a.addPack(snapshot.bytes, snapshot.id);
          assert.equal((await b.missingBlobs(refs.map((r) => r.id))).size, 0);
          await b.commitSnapshot(commitOf(snapshot.blobs[0], { [source]: refs }));
          kept.set(snapshot.blobs[0].id, [snapshot.blobs[0], ...refs]);
          snapshots.push(snapshot.blobs[0].id);
          previous = data.blobs;
        } finally {
          await session.release();
        }
        // The snapshot before last goes: the pack two rounds back is all garbage, the last one half.
        if (snapshots.length > 2) {
          const forgotten = snapshots.shift()!;
          await b.forgetSnapshots([forgotten]);
          kept.delete(forgotten);
        }
      }
    };
    const collecting = stores.map(collector);
    try {
      await Promise.all(Array.from({ length: WRITERS }, (_, n) => writer(n)));
    } finally {
      writing = false;
      await Promise.all(collecting);
    }
    assert.deepEqual(totals.errors, [], 'no gc failed');
    servers.faulty().clear();

    // Every blob a stored snapshot references reads back intact, through either replica.
    const referenced = [...kept.values()].flat();
    for (const [i, blob] of referenced.entries())
      assert.deepEqual(await readSealed(stores[i % 2], blob.id), blob.sealed, `blob ${blob.id}`);
    assert.deepEqual((await stores[0].listSnapshots()).map((s) => s.id).sort(), [...kept.keys()].sort());
    assert.equal((await stores[1].usage()).referencedBytes, bytesOf(referenced));
    const checks = await stores[0].checkPacks({ readData: true });
    assert.deepEqual(
      checks.filter((c) => !c.ok),
      [],
    );

    // With no session open, gc condemns the last garbage; once the grace has passed, it
    // purges it: what is left is exactly what the index names.
    for (const store of stores) addReport(totals, await store.gc(GC));
    for (const r of opened) r.clock.advance(DEFAULT_GRACE_MS + 60_000);
    for (const store of stores) addReport(totals, await store.gc());
    const files: string[] = [];
    for await (const { name } of opened[0].blobs.store.list('packs/')) files.push(packIdOf(name) ?? name);
    const indexed = (await stores[1].checkPacks({ readData: false })).map((c) => c.packId);
    assert.deepEqual(files.sort(), indexed.sort(), 'no orphan object, no indexed pack without its object');
    assert.equal((await stores[0].usage()).referencedBytes, bytesOf(referenced));
    for (const [i, blob] of referenced.entries())
      assert.deepEqual(await readSealed(stores[i % 2], blob.id), blob.sealed, `blob ${blob.id}`);
    return totals;
  } finally {
    servers.faulty().clear();
    await close();
  }
}

describe('two replicas collecting one account at once', { skip }, () => {
  test('lose nothing a snapshot references, count usage exactly and leave no orphan', async () => {
    const all: Totals = { runs: [0, 0], repacked: 0, deleted: 0, purged: 0, errors: [] };
    for (let run = 0; run < RUNS; run++) {
      const totals = await scenario();
      for (const i of [0, 1]) all.runs[i] += totals.runs[i];
      for (const key of ['repacked', 'deleted', 'purged'] as const) all[key] += totals[key];
    }
    // The scenario did what it is for: both replicas collected during the writes, packs
    // were repacked, dropped and their objects purged.
    assert.ok(
      all.runs.every((n) => n > 0) && all.repacked > 0 && all.deleted > 0 && all.purged > 0,
      JSON.stringify(all),
    );
    const { drop, slowDown, internalError, truncate } = servers.faulty().counts;
    assert.ok(drop + slowDown + internalError + truncate > 0, 'faults were injected');
  });

  test('two runs that planned the same drop leave the pack condemned for its grace, not deleted by the next run', async () => {
    const { opened, close } = await replicas();
    try {
      const [a, b] = opened;
      const garbage = makePack([3000, 4000]);
      await a.store.addPack(garbage.bytes, garbage.id);
      for (const r of opened) r.clock.advance(DEFAULT_GRACE_MS + 60_000);
      // Both plan, and are held where they list the packs, until both got there or one
      // waits for the other's lock.
      for (const r of opened) r.gate.armed = true;
      const runs = opened.map((r) => r.store.gc());
      await Promise.race([Promise.all(opened.map((r) => r.gate.reached)), sleep(2000)]);
      for (const r of opened) r.gate.open();
      const reports = await Promise.all(runs);
      assert.equal(reports[0].deletedPacks + reports[1].deletedPacks, 1, 'dropped once');
      // A restore that located a blob before the drop still finds the object for the grace.
      const next = await b.store.gc();
      assert.deepEqual([next.deletedPacks, next.condemnedPacks], [0, 1], 'still condemned');
      assert.equal(await a.blobs.store.size(packName(garbage.id)), garbage.bytes.length);
      for (const r of opened) r.clock.advance(DEFAULT_GRACE_MS + 60_000);
      assert.equal((await a.store.gc()).purgedPacks, 1);
      assert.equal(await a.blobs.store.size(packName(garbage.id)), undefined);
    } finally {
      await close();
    }
  });
});
