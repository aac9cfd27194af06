import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { MIGRATIONS } from '../db/migrations.ts';
import { SqliteDatabase } from '../db/sqlite-database.ts';
import { Replicas } from './replicas.ts';

const TIMING = { beatEveryMs: 1_000, leaseMs: 4_000 };

describe('Replicas', () => {
  const dirs: string[] = [];
  after(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

  /** Two server processes over one database file: each has its own connection, as two processes would. */
  async function twoReplicas() {
    const dir = await mkdtemp(join(tmpdir(), 'cumulus-replicas-'));
    dirs.push(dir);
    const path = join(dir, 'server.sqlite');
    let now = 1_000_000;
    const clock = { now: () => now };
    const first = new SqliteDatabase(path);
    await first.migrate(MIGRATIONS);
    const second = new SqliteDatabase(path);
    return {
      a: new Replicas(first, clock, TIMING),
      b: new Replicas(second, clock, TIMING),
      advance: (ms: number) => {
        now += ms;
      },
      close: async () => {
        await first.close();
        await second.close();
      },
    };
  }

  it('lets one replica lead at a time, and the other take over when the leader stops beating', async () => {
    const { a, b, advance, close } = await twoReplicas();
    await a.beat();
    await b.beat();
    assert.equal(a.isLeader(), true);
    assert.equal(b.isLeader(), false);
    const listed = await b.list();
    assert.deepEqual(
      listed.map((r) => [r.id, r.leader]).sort(),
      [
        [a.id, true],
        [b.id, false],
      ].sort(),
    );

    // a keeps renewing: b never gets the lease.
    for (let i = 0; i < 10; i++) {
      advance(TIMING.beatEveryMs);
      await a.beat();
      await b.beat();
      assert.equal(a.isLeader(), true);
      assert.equal(b.isLeader(), false);
    }

    // a is killed: its lease runs out and b's next beat takes it.
    advance(TIMING.leaseMs + 1);
    assert.equal(a.isLeader(), false, 'a leader that could not renew stops believing it leads');
    await b.beat();
    assert.equal(b.isLeader(), true);
    await a.beat();
    assert.equal(a.isLeader(), false, 'the old leader, back, does not take the lease from the new one');
    await close();
  });

  it('hands the lease over at once when the leader stops cleanly, and forgets it', async () => {
    const { a, b, close } = await twoReplicas();
    await a.beat();
    await b.beat();
    await a.stop();
    await b.beat();
    assert.equal(b.isLeader(), true);
    assert.deepEqual(
      (await b.list()).map((r) => r.id),
      [b.id],
    );
    await close();
  });

  it('is not leader near the end of a lease it has not renewed', async () => {
    const { a, advance, close } = await twoReplicas();
    await a.beat();
    advance(TIMING.leaseMs - TIMING.beatEveryMs);
    assert.equal(a.isLeader(), false, 'work started now could outlast the lease');
    await close();
  });
});
