import { after, before } from 'node:test';
import {
  findPostgres,
  NO_POSTGRES,
  startPostgres,
  type TestPostgres,
} from '../../../test/helpers/postgres.ts';
import { databaseContract } from './database.contract.ts';
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
