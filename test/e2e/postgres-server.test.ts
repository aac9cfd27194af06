/**
 * A real `cumulus server` process on PostgreSQL (CUMULUS_DATABASE_URL, a throwaway cluster
 * from test/helpers/postgres.ts): the admin CLI and the server share the database, a real
 * CLI backs up a few thousand files and restores them identically, the account's usage
 * equals a recount from its reference sets in the database, the data folder holds no SQLite
 * metadata, and `cumulus server status` names the database without its password.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { decodeRefset } from '../../src/store/refset.ts';
import {
  type CliResult,
  runCumulus,
  type ServerProcess,
  signInBackUpRestore,
  startServerProcess,
} from '../helpers/cli.ts';
import { findPostgres, NO_POSTGRES, startPostgres, type TestPostgres } from '../helpers/postgres.ts';
import { smallFiles } from '../helpers/trees.ts';

const PASSWORD = 'postgres backup password';
const FILES = 3000;

describe('a server process on PostgreSQL', {
  skip: findPostgres() === undefined ? NO_POSTGRES : undefined,
}, () => {
  let cluster: TestPostgres;
  let work: string;
  let data: string;
  let server: ServerProcess;
  let env: Record<string, string>;
  let url: string;
  before(async () => {
    cluster = await startPostgres();
    // A password in the URL (the cluster trusts local connections, so any is accepted) shows it stays hidden.
    url = (await cluster.database()).replace('postgres://cumulus@', 'postgres://cumulus:s3cret-word@');
    work = await mkdtemp(join(tmpdir(), 'cumulus-pg-server-'));
    data = join(work, 'data');
    env = { CUMULUS_PASSWORD: PASSWORD, CUMULUS_DATABASE_URL: url };
    server = await startServerProcess(data, 'office@example.com', env);
  });
  after(async () => {
    await server?.stop();
    await cluster?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const device = () => join(work, 'laptop');
  const cumulus = (args: string[]): Promise<CliResult> =>
    runCumulus(args, { CUMULUS_CONFIG_DIR: device(), CUMULUS_PASSWORD: PASSWORD, CUMULUS_REPOSITORY: '' });

  it('names its database without the password, and keeps no SQLite file in the data folder', async () => {
    const status = await runCumulus(['server', 'status', '--data', data, '--json'], env);
    assert.equal(status.code, 0, status.stderr);
    const shown = JSON.parse(status.stdout);
    assert.equal(shown.engine, 'postgres');
    assert.match(shown.database, /^PostgreSQL postgres:\/\/cumulus:\*\*\*@/);
    assert.doesNotMatch(status.stdout + server.output(), /s3cret-word/);
    assert.equal(shown.replicas.length, 1, 'the server process registered in the shared database');
    assert.equal(existsSync(join(data, 'server.sqlite')), false);
  });

  it(`backs up ${FILES} files through the real CLI and restores them identically`, async () => {
    const tree = join(work, 'home');
    smallFiles(tree, FILES, 100, 11);
    await signInBackUpRestore(cumulus, {
      url: server.url,
      email: 'office@example.com',
      tree,
      target: join(work, 'restored'),
      files: FILES,
    });

    const accounts = join(data, 'accounts');
    for (const account of readdirSync(accounts))
      assert.equal(existsSync(join(accounts, account, 'index.sqlite')), false, 'the index is in PostgreSQL');

    const users = await runCumulus(['server', 'user', 'list', '--data', data, '--json'], env);
    assert.equal(users.code, 0, users.stderr);
    const [user] = JSON.parse(users.stdout).users as { id: string; usedBytes: number }[];
    assert.ok(user.usedBytes > 0);
    assert.equal(user.usedBytes, await recount(url, user.id));
  });
});

/** recount sums, straight from the tables, the blobs an account's snapshots and reference sets name, each once. */
async function recount(url: string, account: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const rows = new Set<string>();
    const refsets = await client.query<{ data: Buffer }>('SELECT data FROM refsets WHERE account = $1', [
      account,
    ]);
    for (const { data } of refsets.rows) for (const row of decodeRefset(data)) rows.add(String(row));
    const snapshots = await client.query<{ blob: string }>('SELECT blob FROM snapshots WHERE account = $1', [
      account,
    ]);
    for (const { blob } of snapshots.rows) rows.add(blob);
    const sum = await client.query<{ bytes: string }>(
      'SELECT coalesce(sum(length), 0) AS bytes FROM blobs WHERE account = $1 AND row = ANY($2::bigint[])',
      [account, [...rows]],
    );
    return Number(sum.rows[0].bytes);
  } finally {
    await client.end();
  }
}
