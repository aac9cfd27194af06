import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  findPostgres,
  NO_POSTGRES,
  startPostgres,
  type TestPostgres,
} from '../../../test/helpers/postgres.ts';
import { isCumulusError } from '../../core/errors.ts';
import { databaseContract } from './database.contract.ts';
import { MIGRATIONS } from './migrations.ts';
import { PostgresDatabase } from './postgres-database.ts';

const installed = findPostgres() !== undefined;
let cluster: TestPostgres | undefined;
before(async () => {
  if (installed) cluster = await startPostgres();
});
after(() => cluster?.stop());

databaseContract(
  'postgres',
  async () => {
    const url = await cluster!.database();
    return () => new PostgresDatabase(url);
  },
  installed ? {} : { skip: NO_POSTGRES },
);

test('a database it cannot open is named as a setting to fix, without the password', {
  skip: installed ? undefined : NO_POSTGRES,
}, async () => {
  const url = (await cluster!.database())
    .replace(/\/test_\w+\?/, '/no_such_database?')
    .replace('cumulus@', 'cumulus:s3cret@');
  const db = new PostgresDatabase(url);
  try {
    await assert.rejects(db.migrate(MIGRATIONS), (error: Error) => {
      assert.ok(isCumulusError(error, 'unavailable'));
      assert.match(error.message, /no_such_database/);
      assert.doesNotMatch(error.message, /s3cret/);
      return true;
    });
  } finally {
    await db.close();
  }
});

test('a transaction of one scope does not wait for one of another scope, or for an unscoped one', {
  skip: installed ? undefined : NO_POSTGRES,
  timeout: 60_000,
}, async () => {
  const db = new PostgresDatabase(await cluster!.database());
  try {
    let release = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    let entered = () => {};
    const inside = new Promise<void>((resolve) => (entered = resolve));
    const holding = (scope?: string) =>
      db.transaction(
        async () => {
          entered();
          await gate;
        },
        scope === undefined ? {} : { scope },
      );
    const first = holding('a');
    await inside;
    const unscoped = holding();
    assert.equal(
      await db.transaction(async (tx) => (await tx.get<{ n: number }>('SELECT 1 AS n'))!.n, { scope: 'b' }),
      1,
    );
    release();
    await Promise.all([first, unscoped]);
  } finally {
    await db.close();
  }
});
