import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { SqliteDatabase } from './sqlite-database.ts';

describe('SqliteDatabase', () => {
  const dirs: string[] = [];
  after(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));
  async function open(): Promise<{ db: SqliteDatabase; path: string }> {
    const dir = await mkdtemp(join(tmpdir(), 'cumulus-db-'));
    dirs.push(dir);
    const path = join(dir, 'server.sqlite');
    return { db: new SqliteDatabase(path), path };
  }

  it('migrates step by step, once, and refuses a schema newer than itself', async () => {
    const { db, path } = await open();
    assert.equal(await db.migrate(['CREATE TABLE a (x INTEGER)']), 1);
    assert.equal(await db.migrate(['CREATE TABLE a (x INTEGER)', 'CREATE TABLE b (y INTEGER)']), 2);
    await db.run('INSERT INTO b (y) VALUES (?)', [1]);
    await db.close();
    const again = new SqliteDatabase(path);
    await assert.rejects(again.migrate(['CREATE TABLE a (x INTEGER)']), { code: 'conflict' });
    assert.deepEqual(
      (await again.all<{ y: number }>('SELECT y FROM b')).map((r) => r.y),
      [1],
    );
    await again.close();
  });

  it('rolls a failed transaction back whole, and keeps other statements out of a running one', async () => {
    const { db } = await open();
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
    await db.close();
  });
});
