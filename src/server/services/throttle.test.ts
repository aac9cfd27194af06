import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { isCumulusError } from '../../core/errors.ts';
import { MIGRATIONS } from '../db/migrations.ts';
import { SqliteDatabase } from '../db/sqlite-database.ts';
import { AttemptGuard, Throttle } from './throttle.ts';

function clock() {
  let now = 0;
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

const POLICY = { freeFailures: 2, baseDelayMs: 1000, maxDelayMs: 8000, forgetAfterMs: 60_000 };

const dirs: string[] = [];
after(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

/** database opens a migrated server database file; `connections` of them, as replicas would. */
async function database(connections = 1): Promise<SqliteDatabase[]> {
  const dir = await mkdtemp(join(tmpdir(), 'cumulus-throttle-'));
  dirs.push(dir);
  const path = join(dir, 'server.sqlite');
  const first = new SqliteDatabase(path);
  await first.migrate(MIGRATIONS);
  return [first, ...Array.from({ length: connections - 1 }, () => new SqliteDatabase(path))];
}

async function rejectsLimited(promise: Promise<unknown>, retryAfterSeconds?: number): Promise<void> {
  await assert.rejects(
    promise,
    (error: unknown) =>
      isCumulusError(error, 'rate_limited') &&
      (retryAfterSeconds === undefined || error.details?.retryAfterSeconds === retryAfterSeconds),
  );
}

describe('Throttle', () => {
  it('lets a few failures pass, then doubles the wait up to a cap', async () => {
    const [db] = await database();
    const time = clock();
    const throttle = new Throttle(time, POLICY, 'test');
    const waits = [];
    for (let i = 0; i < 7; i++) {
      await throttle.failed(db, 'k');
      waits.push(await throttle.waitMs(db, 'k'));
    }
    assert.deepEqual(waits, [0, 0, 1000, 2000, 4000, 8000, 8000]);
    time.advance(8000);
    assert.equal(await throttle.waitMs(db, 'k'), 0);
  });

  it('forgets failures after a quiet period, and on success', async () => {
    const [db] = await database();
    const time = clock();
    const throttle = new Throttle(time, POLICY, 'test');
    for (let i = 0; i < 3; i++) await throttle.failed(db, 'k');
    time.advance(60_001);
    await throttle.failed(db, 'k');
    assert.equal(await throttle.waitMs(db, 'k'), 0, 'counting starts over');
    for (let i = 0; i < 3; i++) await throttle.failed(db, 'k');
    await throttle.succeeded(db, 'k');
    assert.equal(await throttle.waitMs(db, 'k'), 0);
  });

  it('drops the rows of keys gone quiet, so a flood of keys does not grow the table for good', async () => {
    const [db] = await database();
    const time = clock();
    const throttle = new Throttle(time, POLICY, 'test');
    for (let i = 0; i < 50; i++) await throttle.failed(db, `flood-${i}`);
    time.advance(60_001);
    await throttle.failed(db, 'new');
    const keys = (await db.all<{ key: string }>('SELECT key FROM attempt_failures')).map((r) => r.key);
    assert.deepEqual(keys, ['new']);
  });
});

describe('AttemptGuard', () => {
  it('blocks by account and by address; success clears the account but not the address', async () => {
    const [db] = await database();
    const time = clock();
    const guard = new AttemptGuard(db, time, { account: POLICY, ip: { ...POLICY, freeFailures: 3 } });
    for (let i = 0; i < 3; i++) await guard.begin('password', 'ann', '10.0.0.1');
    await rejectsLimited(guard.begin('password', 'ann', '10.0.0.9'), 1);
    await guard.begin('code', 'ann', '10.0.0.9'); // kinds are counted apart
    time.advance(1000);
    await (await guard.begin('password', 'ann', '10.0.0.9')).succeeded();
    await (await guard.begin('password', 'ann', '10.0.0.9')).succeeded();
    await guard.begin('password', 'bob', '10.0.0.1');
    await rejectsLimited(guard.begin('password', 'carl', '10.0.0.1')); // the address keeps its count
  });

  it('counts an attempt before its check ends, so attempts in parallel cannot all pass', async () => {
    const [db] = await database();
    const guard = new AttemptGuard(db, clock(), { account: POLICY, ip: { ...POLICY, freeFailures: 100 } });
    const attempts = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) => guard.begin('password', 'ann', `10.0.0.${i}`)),
    );
    const started = attempts.filter((a) => a.status === 'fulfilled').length;
    assert.equal(started, POLICY.freeFailures + 1, 'the free failures and the one that starts the wait');
  });

  it('shares the count between replicas: guesses spread over servers of one database buy no more tries', async () => {
    const connections = await database(3);
    const time = clock();
    const policies = { account: POLICY, ip: { ...POLICY, freeFailures: 100 } };
    const replicas = connections.map((db) => new AttemptGuard(db, time, policies));
    let started = 0;
    for (let i = 0; i < 9; i++) {
      try {
        await replicas[i % 3].begin('password', 'ann', `10.0.0.${i}`);
        started++;
      } catch (error) {
        assert.ok(isCumulusError(error, 'rate_limited'));
      }
    }
    assert.equal(started, POLICY.freeFailures + 1);
    for (const db of connections) await db.close();
  });

  it('a right secret takes back its own count at the address only', async () => {
    const [db] = await database();
    const guard = new AttemptGuard(db, clock(), { account: { ...POLICY, freeFailures: 100 }, ip: POLICY });
    for (let i = 0; i < 10; i++) await (await guard.begin('password', `user${i}`, '10.0.0.1')).succeeded();
    await guard.begin('password', 'ann', '10.0.0.1'); // right secrets cost nothing
  });

  it('counts an IPv6 address by its /64', async () => {
    const [db] = await database();
    const guard = new AttemptGuard(db, clock(), { account: { ...POLICY, freeFailures: 100 }, ip: POLICY });
    for (let i = 1; i <= 3; i++) await guard.begin('password', 'ann', `2001:db8:1:2::${i}`);
    await rejectsLimited(guard.begin('password', 'ann', '2001:db8:1:2:ffff::9'));
    await guard.begin('password', 'ann', '2001:db8:1:3::1'); // another /64 is apart
  });
});
