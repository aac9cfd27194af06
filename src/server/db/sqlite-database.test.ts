import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { databaseContract } from './database.contract.ts';
import { SqliteDatabase } from './sqlite-database.ts';

databaseContract(
  'sqlite',
  async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'cumulus-db-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    return () => new SqliteDatabase(join(dir, 'server.sqlite'));
  },
  { oneConnection: true },
);
