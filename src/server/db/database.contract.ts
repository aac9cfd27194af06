/**
 * databaseContract is the node:test suite every implementation of the server's Database
 * port runs (SQLite and PostgreSQL). `make` returns a way to open one fresh database as
 * often as asked: two handles on it stand for two processes (the admin CLI beside the
 * server, or two replicas), and the registered cleanup closes and deletes it.
 */

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, type TestContext, test } from 'node:test';
import type { Database } from './database.ts';
import { MIGRATIONS } from './migrations.ts';

/** MakeDatabase creates one empty database and returns how to open it. */
export type MakeDatabase = (t: TestContext) => Promise<() => Database>;

export interface ContractOptions {
  skip?: string;
  /**
   * oneConnection: two handles in one process cannot run transactions side by side (SQLite:
   * one would block the thread waiting for the other's lock), so the tests of two processes
   * run them on one handle; separate processes wait for each other through busy_timeout.
   */
  oneConnection?: boolean;
}

export function databaseContract(name: string, make: MakeDatabase, options: ContractOptions = {}): void {
  describe(`Database contract: ${name}`, { skip: options.skip }, () => {
    async function opened(t: TestContext) {
      const open = await make(t);
      const handles: Database[] = [];
      t.after(() => Promise.all(handles.map((db) => db.close())));
      return (): Database => {
        if (options.oneConnection && handles.length > 0) return handles[0];
        const db = open();
        handles.push(db);
        return db;
      };
    }

    test('migrates step by step, once, and refuses a schema newer than itself', async (t) => {
      const open = await make(t);
      const db = open();
      assert.equal(await db.migrate(['CREATE TABLE a (x INTEGER)']), 1);
      assert.equal(await db.migrate(['CREATE TABLE a (x INTEGER)', 'CREATE TABLE b (y INTEGER)']), 2);
      await db.run('INSERT INTO b (y) VALUES (?)', [1]);
      await db.close();
      const again = open();
      t.after(() => again.close());
      await assert.rejects(again.migrate(['CREATE TABLE a (x INTEGER)']), { code: 'conflict' });
      assert.deepEqual(
        (await again.all<{ y: number }>('SELECT y FROM b')).map((r) => r.y),
        [1],
      );
    });

    test('applies every server migration, and two processes migrating at once apply each step once', async (t) => {
      const open = await opened(t);
      const [first, second] = await Promise.all([open().migrate(MIGRATIONS), open().migrate(MIGRATIONS)]);
      assert.equal(first, MIGRATIONS.length);
      assert.equal(second, MIGRATIONS.length);
      assert.equal(await open().migrate(MIGRATIONS), MIGRATIONS.length);
    });

    test('says how many bytes it takes, more once a table holds a megabyte (of random bytes: no compression helps)', async (t) => {
      const db = (await opened(t))();
      await db.migrate(['CREATE TABLE big (data BLOB)']);
      const empty = await db.sizeBytes();
      assert.ok(Number.isSafeInteger(empty) && empty > 0, `${empty}`);
      for (let i = 0; i < 16; i++) await db.run('INSERT INTO big (data) VALUES (?)', [randomBytes(65_536)]);
      assert.ok((await db.sizeBytes()) >= empty + 1_000_000, `${empty} → ${await db.sizeBytes()}`);
    });

    test('returns values as stored: integers past 2^32 as numbers, bytes, null, text, 0/1 for truth', async (t) => {
      const db = (await opened(t))();
      await db.migrate(['CREATE TABLE v (id INTEGER PRIMARY KEY, at INTEGER, data BLOB, label TEXT)']);
      const at = Date.UTC(2040, 5, 1, 12, 0, 0, 123);
      await db.run('INSERT INTO v (at, data, label) VALUES (?, ?, ?)', [
        at,
        new Uint8Array([0, 1, 255]),
        "it's",
      ]);
      await db.run('INSERT INTO v (at, data, label) VALUES (?, ?, ?)', [null, null, null]);
      const rows = await db.all<{
        id: number;
        at: number | null;
        data: Uint8Array | null;
        label: string | null;
      }>('SELECT id, at, data, label FROM v ORDER BY id');
      assert.equal(rows.length, 2);
      assert.equal(typeof rows[0].id, 'number', 'an INTEGER PRIMARY KEY is assigned when omitted');
      assert.ok(rows[1].id > rows[0].id);
      assert.equal(rows[0].at, at);
      assert.deepEqual([...(rows[0].data ?? [])], [0, 1, 255]);
      assert.equal(rows[0].label, "it's");
      assert.deepEqual([rows[1].at, rows[1].data, rows[1].label], [null, null, null]);
      const facts = await db.get<{ n: number; total: number; some: number; none: number }>(
        `SELECT count(*) AS n, sum(at) AS total,
           EXISTS (SELECT 1 FROM v WHERE label = '?') AS none,
           EXISTS (SELECT 1 FROM v WHERE label IS NOT NULL) AS some FROM v`,
      );
      assert.deepEqual({ ...facts }, { n: 2, total: at, none: 0, some: 1 });
    });

    test('a parameter may stand for "any" with IS NULL', async (t) => {
      const db = (await opened(t))();
      await db.migrate(['CREATE TABLE e (id INTEGER PRIMARY KEY, account TEXT)']);
      await db.run('INSERT INTO e (account) VALUES (?), (?)', ['a', 'b']);
      const count = async (account: string | null) =>
        (await db.all('SELECT id FROM e WHERE (? IS NULL OR account = ?)', [account, account])).length;
      assert.equal(await count(null), 2);
      assert.equal(await count('a'), 1);
    });

    test('rolls a failed transaction back whole, and keeps other statements out of a running one', async (t) => {
      const db = (await opened(t))();
      await db.migrate(['CREATE TABLE t (x INTEGER NOT NULL)']);
      await assert.rejects(
        db.transaction(async (tx) => {
          await tx.run('INSERT INTO t (x) VALUES (1)');
          throw new Error('crash in the middle');
        }),
        /crash in the middle/,
      );
      assert.deepEqual(await db.all('SELECT x FROM t'), []);

      let release!: () => void;
      let entered!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const inside = new Promise<void>((resolve) => (entered = resolve));
      const failing = db.transaction(async (tx) => {
        await tx.run('INSERT INTO t (x) VALUES (2)');
        entered();
        await gate;
        throw new Error('rolled back');
      });
      await inside;
      const outside = db.run('INSERT INTO t (x) VALUES (3)');
      release();
      await assert.rejects(failing, /rolled back/);
      await outside;
      assert.deepEqual(
        (await db.all<{ x: number }>('SELECT x FROM t')).map((r) => r.x),
        [3],
        'the outside write was not swept into the rollback',
      );
    });

    /** countsEveryIncrement has two processes increment one counter 20 times at once, read then write. */
    const countsEveryIncrement = async (t: TestContext, options?: { scope?: string }) => {
      const open = await opened(t);
      const a = open();
      const b = open();
      await a.migrate(['CREATE TABLE counter (n INTEGER NOT NULL)', 'INSERT INTO counter (n) VALUES (0)']);
      const increment = (db: Database) =>
        db.transaction(async (tx) => {
          const { n } = (await tx.get<{ n: number }>('SELECT n FROM counter'))!;
          await new Promise((resolve) => setTimeout(resolve, 1));
          await tx.run('UPDATE counter SET n = ?', [n + 1]);
        }, options);
      await Promise.all(Array.from({ length: 20 }, (_, i) => increment(i % 2 === 0 ? a : b)));
      assert.equal((await a.get<{ n: number }>('SELECT n FROM counter'))!.n, 20);
    };

    test('transactions of two processes never interleave: read-then-write counts every increment', (t) =>
      countsEveryIncrement(t));

    test('transactions of one scope never interleave either, in two processes', (t) =>
      countsEveryIncrement(t, { scope: 'counter' }));
  });
}
