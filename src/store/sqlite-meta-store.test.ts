import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { type TestContext, test } from 'node:test';
import { isCumulusError } from '../core/errors.ts';
import { metaStoreContract } from './meta-store.contract.ts';
import { SCHEMA, SqliteMetaStore } from './sqlite-meta-store.ts';

async function tempFolder(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cumulus-sqlite-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

metaStoreContract('sqlite', async (t) => new SqliteMetaStore(join(await tempFolder(t), 'index.sqlite')));

test('an index written by a newer Cumulus is refused, not misread', async (t) => {
  const path = join(await tempFolder(t), 'index.sqlite');
  await new SqliteMetaStore(path).close();
  const raw = new DatabaseSync(path);
  raw.exec('PRAGMA user_version = 99');
  raw.close();
  assert.throws(
    () => new SqliteMetaStore(path),
    (e) => isCumulusError(e, 'update_required'),
  );
});

test('an index of schema 1 gains a generation when opened, and keeps its blobs', async (t) => {
  const path = join(await tempFolder(t), 'index.sqlite');
  const raw = new DatabaseSync(path);
  raw.exec(SCHEMA);
  raw.exec('INSERT INTO packs (id, size, created_at) VALUES (zeroblob(32), 10, 0)');
  raw.exec(
    'INSERT INTO blobs (id, type, pack, offset, length, touched_at) VALUES (randomblob(32), 0, 1, 0, 10, 0)',
  );
  raw.exec('PRAGMA user_version = 1');
  raw.close();
  const store = new SqliteMetaStore(path);
  t.after(() => store.close());
  const delta = await store.blobsSince(0, 10);
  assert.match(delta.generation, /^[0-9a-f]{32}$/);
  assert.equal(delta.ids.length, 1);
  assert.deepEqual(await store.condemnedPacks(), [], 'and, at schema 3, a table of condemned packs');
});
