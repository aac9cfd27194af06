import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  findPostgres,
  NO_POSTGRES,
  startPostgres,
  type TestPostgres,
} from '../../../test/helpers/postgres.ts';
import { copyServerDatabase, countRows, serverTables } from './copy-database.ts';
import type { Database } from './database.ts';
import { MIGRATIONS } from './migrations.ts';
import { PostgresDatabase } from './postgres-database.ts';
import { SqliteDatabase } from './sqlite-database.ts';

const skip = findPostgres() === undefined ? NO_POSTGRES : undefined;
let cluster: TestPostgres | undefined;
const work = mkdtempSync(join(tmpdir(), 'cumulus-copy-db-'));
before(async () => {
  if (!skip) cluster = await startPostgres();
});
after(async () => {
  await cluster?.stop();
  rmSync(work, { recursive: true, force: true });
});

const ACCOUNT = 'a'.repeat(32);

/** fill writes rows of every shape the schema has: text keys, identity keys, bytes, NULLs, foreign keys. */
async function fill(db: Database): Promise<void> {
  await db.run(
    "INSERT INTO plans (id, name, quota_bytes, offered, is_default, created_at) VALUES ('big', 'Big', ?, 0, 0, 1)",
    [2 ** 50],
  );
  await db.run(
    `INSERT INTO accounts (id, email, role, plan_id, kdf, auth_hash, wrapped_key, created_at)
      VALUES (?, 'ann@example.com', 'user', 'big', '{"n":65536}', 'hash', NULL, 2)`,
    [ACCOUNT],
  );
  await db.run(
    `INSERT INTO devices (id, account_id, name, platform, agent_version, created_at, progress)
      VALUES ('d1', ?, 'laptop', 'linux', '1.0.0', 3, '{"files":1}')`,
    [ACCOUNT],
  );
  for (let i = 0; i < 2500; i++) {
    await db.run(
      "INSERT INTO audit_log (at, event, account_id, actor, ip, details) VALUES (?, 'sign_in', ?, 'd1', '::1', '{}')",
      [i, ACCOUNT],
    );
  }
  await db.run(
    'INSERT INTO doctor_reports (device_id, account_id, blob_id, sealed, received_at) VALUES (?, ?, ?, ?, ?)',
    ['d1', ACCOUNT, 'b'.repeat(64), new Uint8Array([0, 1, 2, 255]), 4],
  );
  await db.run(
    "INSERT INTO replicas (id, host, pid, started_at, heartbeat_at) VALUES ('r', 'old-host', 1, 1, 1)",
  );
}

describe('copyServerDatabase: an embedded server database into PostgreSQL', { skip }, () => {
  test('every table and row arrives, identity columns continue, and running processes stay behind', async () => {
    const source = new SqliteDatabase(join(work, 'server.sqlite'));
    const target = new PostgresDatabase(await cluster!.database());
    try {
      await source.migrate(MIGRATIONS);
      await target.migrate(MIGRATIONS);
      await fill(source);
      const tables = await serverTables(source);
      assert.ok(tables.includes('accounts') && !tables.includes('replicas'));
      for (let run = 0; run < 2; run++) {
        await copyServerDatabase(source, target, tables, async () => {});
        assert.deepEqual(await countRows(target, tables), await countRows(source, tables), `run ${run + 1}`);
      }
      const device = await target.get<Record<string, unknown>>("SELECT * FROM devices WHERE id = 'd1'");
      assert.deepEqual(device, { ...(await source.get<object>("SELECT * FROM devices WHERE id = 'd1'")) });
      const report = await target.get<{ sealed: Uint8Array }>('SELECT sealed FROM doctor_reports');
      assert.deepEqual([...report!.sealed], [0, 1, 2, 255]);
      const plan = await target.get<{ quota_bytes: number }>(
        "SELECT quota_bytes FROM plans WHERE id = 'big'",
      );
      assert.equal(plan!.quota_bytes, 2 ** 50);
      assert.equal((await target.get<{ n: number }>('SELECT count(*) AS n FROM replicas'))!.n, 0);
      // The next audit line gets the next number, not one the copy took.
      await target.run(
        "INSERT INTO audit_log (at, event, account_id, actor, ip, details) VALUES (9, 'sign_in', NULL, 'x', '::1', '{}')",
      );
      const last = await target.get<{ id: number }>('SELECT max(id) AS id FROM audit_log');
      assert.equal(last!.id, 2501);
    } finally {
      await source.close();
      await target.close();
    }
  });

  test('a copy that fails midway leaves the target as it was', async () => {
    const source = new SqliteDatabase(join(work, 'second.sqlite'));
    const target = new PostgresDatabase(await cluster!.database());
    try {
      await source.migrate(MIGRATIONS);
      await target.migrate(MIGRATIONS);
      const tables = await serverTables(source);
      const before = await countRows(target, tables);
      await fill(source);
      await assert.rejects(
        copyServerDatabase(source, target, tables, async () => {
          throw new Error('cut off');
        }),
        /cut off/,
      );
      assert.deepEqual(await countRows(target, tables), before);
    } finally {
      await source.close();
      await target.close();
    }
  });
});
