/**
 * migrateServer from the other places a server may already keep its data: on PostgreSQL
 * with packs in the folder (only the packs move), and on SQLite with packs already in a
 * bucket (only the database moves, the packs are verified where they are); a pack the
 * embedded server lost already is carried over as it is; a server will not start on an
 * unfinished migration. The embedded default to both is the end-to-end test
 * (test/e2e/server-migrate-postgres.test.ts).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  findPostgres,
  NO_POSTGRES,
  startPostgres,
  type TestPostgres,
} from '../../../test/helpers/postgres.ts';
import { isCumulusError } from '../../core/errors.ts';
import { openPostgresPool } from '../../store/postgres.ts';
import type { RepositoryStore } from '../../store/repository-store.ts';
import { type RunningS3, settingsFor, startS3rver } from '../../store/s3-testing.ts';
import { commitOf, makePack, readSealed, type TestBlob } from '../../store/testing.ts';
import { PostgresDatabase } from '../db/postgres-database.ts';
import { accountsRoot, StoreAccountRepositories } from './account-repositories.ts';
import { type BlobStoreConfig, openBlobStores } from './blob-stores.ts';
import { ImportProgress, refuseUnfinishedImport } from './import-progress.ts';
import { openMetaStores } from './meta-stores.ts';
import { migrateServer } from './server-migration.ts';

const skip = findPostgres() === undefined ? NO_POSTGRES : undefined;
const ACCOUNT = 'c'.repeat(32);
let postgres: TestPostgres;
let s3: RunningS3;
let work: string;
before(async () => {
  if (skip) return;
  [postgres, s3] = await Promise.all([startPostgres(), startS3rver()]);
  work = await mkdtemp(join(tmpdir(), 'cumulus-migration-'));
});
after(async () => {
  await s3?.close();
  await postgres?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

type Where = { databaseUrl?: string; blobs: BlobStoreConfig };

/** withAccount opens the account's repository where a server keeps it (`where`) and runs `work` on it. */
async function withAccount<T>(
  dataDir: string,
  where: Where,
  work: (store: RepositoryStore) => Promise<T>,
): Promise<T> {
  const pool = where.databaseUrl === undefined ? undefined : openPostgresPool(where.databaseUrl);
  const root = accountsRoot(dataDir);
  const repositories = new StoreAccountRepositories(dataDir, {
    blobs: openBlobStores(where.blobs, root),
    metas: openMetaStores(pool, root),
  });
  try {
    return await work((await repositories.forAccount(ACCOUNT)).store);
  } finally {
    await repositories.close();
    await pool?.end();
  }
}

/** backUp stores one snapshot of a few blobs in the account, as a server would, and returns a data blob. */
function backUp(dataDir: string, where: Where): Promise<TestBlob> {
  return withAccount(dataDir, where, async (store) => {
    const data = makePack([3000, 4000, { length: 50, type: 'tree' }]);
    const snapshot = makePack([{ length: 40, type: 'snapshot' }]);
    await store.addPack(data.bytes, data.id);
    await store.addPack(snapshot.bytes, snapshot.id);
    await store.commitSnapshot(commitOf(snapshot.blobs[0], { ['dd'.repeat(16)]: data.blobs }));
    return data.blobs[0];
  });
}

/** readBack reads the blob through a repository where the migrated server keeps its data. */
function readBack(dataDir: string, where: Where, blob: TestBlob): Promise<void> {
  return withAccount(dataDir, where, async (store) => {
    assert.deepEqual(await readSealed(store, blob.id), blob.sealed);
    assert.equal((await store.usage()).snapshots, 1);
  });
}

describe('migrateServer: partly moved servers, damage carried over, unfinished migrations', { skip }, () => {
  test('on PostgreSQL with packs in the folder: the packs move to a bucket and are verified there', async () => {
    const dataDir = join(work, 'pg-folder');
    const databaseUrl = await postgres.database();
    const source = { dataDir, databaseUrl, blobs: { kind: 'folder' } as const };
    const blob = await backUp(dataDir, source);
    const bucket = settingsFor(s3, 'from-postgres');
    const migration = await migrateServer(source, { blobs: bucket });
    const [report] = migration.accounts;
    assert.equal(report.accountId, ACCOUNT);
    assert.equal(report.copied, 2);
    assert.deepEqual(report.problems, []);
    assert.equal(report.index, undefined, 'the index stays in PostgreSQL');
    await readBack(dataDir, { databaseUrl, blobs: { kind: 's3', settings: bucket } }, blob);

    await assert.rejects(
      migrateServer(source, { databaseUrl: await postgres.database() }),
      (error: Error) => {
        assert.ok(isCumulusError(error, 'usage'));
        assert.match(error.message, /already keeps its database in PostgreSQL/);
        return true;
      },
    );
  });

  test('on SQLite with packs in a bucket: the database moves, the packs are checked where they are', async () => {
    const dataDir = join(work, 'sqlite-s3');
    const blobs = { kind: 's3', settings: settingsFor(s3, 'embedded-index') } as const;
    const blob = await backUp(dataDir, { blobs });
    const databaseUrl = await postgres.database();
    const migration = await migrateServer({ dataDir, blobs }, { databaseUrl });
    const [report] = migration.accounts;
    assert.deepEqual(report.problems, []);
    assert.equal(report.index?.copied, true);
    assert.equal(report.packsVerified, 2);
    assert.equal(report.copied, 0, 'no pack moves');
    await readBack(dataDir, { databaseUrl, blobs }, blob);

    await assert.rejects(migrateServer({ dataDir, blobs }, { blobs: blobs.settings }), /already there/);
  });

  test('a pack the embedded server has lost already is reported as carried over, and the migration completes', async () => {
    const dataDir = join(work, 'damaged');
    const folder = { kind: 'folder' } as const;
    await backUp(dataDir, { blobs: folder });
    const packs = join(accountsRoot(dataDir), ACCOUNT, 'packs');
    const [lost] = (await readdir(packs, { recursive: true }))
      .filter((name) => /[0-9a-f]{64}$/.test(name))
      .sort();
    await rm(join(packs, lost));
    const databaseUrl = await postgres.database();
    const migration = await migrateServer(
      { dataDir, blobs: folder },
      { databaseUrl, blobs: settingsFor(s3, 'damaged') },
    );
    const [report] = migration.accounts;
    assert.deepEqual(report.problems, []);
    assert.equal(report.inherited.length, 1);
    assert.match(report.inherited[0], /missing/);
    const db = new PostgresDatabase(databaseUrl);
    try {
      await refuseUnfinishedImport(db); // complete: a server may start
    } finally {
      await db.close();
    }
  });

  test('a server refuses to start on a database whose migration is unfinished', async () => {
    const db = new PostgresDatabase(await postgres.database());
    try {
      await refuseUnfinishedImport(db); // never migrated into: fine
      const progress = new ImportProgress(db);
      await progress.open();
      await progress.set('server', 'copied');
      await assert.rejects(
        refuseUnfinishedImport(db),
        /migration from an embedded server into this database is unfinished/,
      );
      await progress.markComplete();
      await refuseUnfinishedImport(db);
    } finally {
      await db.close();
    }
  });
});
