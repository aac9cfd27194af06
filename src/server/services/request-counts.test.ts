import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, type TestContext, test } from 'node:test';
import {
  findPostgres,
  NO_POSTGRES,
  startPostgres,
  type TestPostgres,
} from '../../../test/helpers/postgres.ts';
import type { Database } from '../db/database.ts';
import { MIGRATIONS } from '../db/migrations.ts';
import { PostgresDatabase } from '../db/postgres-database.ts';
import { SqliteDatabase } from '../db/sqlite-database.ts';
import { RequestCounts } from './request-counts.ts';

const WINDOW = 60_000;

class TestClock {
  #now = Date.UTC(2030, 0, 1);
  now(): number {
    return this.#now;
  }
  advance(ms: number): void {
    this.#now += ms;
  }
}

/** OpenDatabase opens one more handle on one migrated database (another process, or a replica). */
type OpenDatabase = () => Database;

async function sqlite(t: TestContext): Promise<OpenDatabase> {
  const dir = await mkdtemp(join(tmpdir(), 'cumulus-counts-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return handles(t, () => new SqliteDatabase(join(dir, 'server.sqlite')));
}

async function handles(t: TestContext, open: () => Database): Promise<OpenDatabase> {
  const opened = [open()];
  t.after(() => Promise.all(opened.map((db) => db.close())));
  await opened[0].migrate(MIGRATIONS);
  return () => {
    const db = open();
    opened.push(db);
    return db;
  };
}

async function rowKeys(db: Database): Promise<string[]> {
  return (await db.all<{ key: string }>('SELECT key FROM request_counts ORDER BY key')).map((r) => r.key);
}

function requestCountsContract(name: string, make: (t: TestContext) => Promise<OpenDatabase>, skip?: string) {
  describe(`RequestCounts on ${name}`, { skip }, () => {
    test('counts a key in its window, apart from other keys, and starts again once the window ends', async (t) => {
      const clock = new TestClock();
      const counts = new RequestCounts((await make(t))(), { clock });
      assert.deepEqual(await counts.hit('a', WINDOW), { hits: 1, ttlMs: WINDOW });
      clock.advance(10_000);
      assert.deepEqual(await counts.hit('a', WINDOW), { hits: 2, ttlMs: 50_000 });
      assert.deepEqual(await counts.hit('b', WINDOW), { hits: 1, ttlMs: WINDOW });
      clock.advance(50_000);
      assert.deepEqual(await counts.hit('a', WINDOW), { hits: 1, ttlMs: WINDOW }, 'a new window');
      assert.deepEqual(await counts.hit('b', WINDOW), { hits: 2, ttlMs: 10_000 });
    });

    test('two processes hitting one key at once lose no hit and share no number', async (t) => {
      const open = await make(t);
      const clock = new TestClock();
      const replicas = [new RequestCounts(open(), { clock }), new RequestCounts(open(), { clock })];
      const hits = await Promise.all(
        Array.from({ length: 40 }, (_, i) => replicas[i % 2].hit('session:s1', WINDOW)),
      );
      assert.deepEqual(
        hits.map((h) => h.hits).sort((x, y) => x - y),
        Array.from({ length: 40 }, (_, i) => i + 1),
      );
    });

    test('sweeps the rows whose window ended, keeping the live ones', async (t) => {
      const db = (await make(t))();
      const clock = new TestClock();
      const counts = new RequestCounts(db, { clock });
      await counts.hit('old', 1000);
      await counts.hit('live', 10 * WINDOW);
      clock.advance(WINDOW + 1);
      await counts.hit('new', WINDOW);
      // The sweep runs beside the hit that starts it; it is done within moments.
      for (let i = 0; i < 100 && (await rowKeys(db)).includes('old'); i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.deepEqual(await rowKeys(db), ['live', 'new']);
    });
  });
}

requestCountsContract('SQLite', sqlite);

const installed = findPostgres() !== undefined;
let cluster: TestPostgres | undefined;
before(async () => {
  if (installed) cluster = await startPostgres();
});
after(() => cluster?.stop());

requestCountsContract(
  'PostgreSQL',
  async (t) => {
    const url = await cluster!.database();
    return handles(t, () => new PostgresDatabase(url));
  },
  installed ? undefined : NO_POSTGRES,
);

/** failing wraps a database whose statements fail, or never answer, while its mode says so. */
function failing(db: Database): { db: Database; mode: 'ok' | 'fail' | 'hang' } {
  const state: { db: Database; mode: 'ok' | 'fail' | 'hang' } = { db, mode: 'ok' };
  const unless = <T>(work: () => Promise<T>): Promise<T> =>
    state.mode === 'fail'
      ? Promise.reject(new Error('connection refused'))
      : state.mode === 'hang'
        ? new Promise<T>(() => {})
        : work();
  state.db = {
    kind: db.kind,
    all: (sql, params) => unless(() => db.all(sql, params)),
    get: (sql, params) => unless(() => db.get(sql, params)),
    run: (sql, params) => unless(() => db.run(sql, params)),
    transaction: (work) => unless(() => db.transaction(work)),
    migrate: (steps) => db.migrate(steps),
    sizeBytes: () => db.sizeBytes(),
    close: () => db.close(),
  };
  return state;
}

describe('RequestCounts when the database fails', () => {
  test('counts in memory, so the limit still holds, and goes back to the database after a pause', async (t) => {
    const clock = new TestClock();
    const broken = failing((await sqlite(t))());
    const events: string[] = [];
    const counts = new RequestCounts(broken.db, {
      clock,
      retryAfterMs: 5000,
      onOutage: (error) => events.push(`outage: ${(error as Error).message}`),
      onRecovery: () => events.push('recovered'),
    });
    await counts.hit('k', WINDOW);
    await counts.hit('k', WINDOW);
    broken.mode = 'fail';
    const during = [];
    for (let i = 0; i < 4; i++) during.push((await counts.hit('k', WINDOW)).hits);
    assert.deepEqual(during, [1, 2, 3, 4], 'counted in memory: nothing goes through uncounted');
    assert.deepEqual(events, ['outage: connection refused'], 'one outage, told once');
    broken.mode = 'ok';
    assert.equal((await counts.hit('k', WINDOW)).hits, 5, 'still in memory until the pause is over');
    clock.advance(5000);
    assert.equal((await counts.hit('k', WINDOW)).hits, 3, 'the database count again');
    assert.deepEqual(events, ['outage: connection refused', 'recovered']);
  });

  test('a database that does not answer costs a hit its deadline, then counts in memory', async (t) => {
    const clock = new TestClock();
    const broken = failing((await sqlite(t))());
    const counts = new RequestCounts(broken.db, { clock, deadlineMs: 50 });
    broken.mode = 'hang';
    assert.deepEqual(await counts.hit('k', WINDOW), { hits: 1, ttlMs: WINDOW });
    assert.deepEqual(await counts.hit('k', WINDOW), { hits: 2, ttlMs: WINDOW }, 'at once, from memory');
  });
});
