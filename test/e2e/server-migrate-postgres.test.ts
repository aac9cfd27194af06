/**
 * `cumulus server migrate --to postgres://… --blobs s3://…` on a populated embedded server,
 * on default settings: two accounts, three devices (one with 20,000 small files), backups
 * made, changed and forgotten with the real CLI through a real server process. The
 * migration is refused into a database another server uses; killed with SIGKILL after its
 * first account and run again, it continues (the first account is not copied again) and
 * verifies every account (a server started in between refuses the unfinished database). Run
 * once more it refuses (a server may have written since). The server, restarted on PostgreSQL and the
 * bucket with the embedded files moved away, serves every device as before: the same
 * snapshots and usage, identical restores, and a new backup.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type RunningS3, startS3rver } from '../../src/store/s3-testing.ts';
import {
  type CliResult,
  cumulusAsync,
  runCumulus,
  type ServerProcess,
  serveDataFolder,
  startServerProcess,
} from '../helpers/cli.ts';
import { findPostgres, NO_POSTGRES, startPostgres, type TestPostgres } from '../helpers/postgres.ts';
import { compareTrees, smallFiles } from '../helpers/trees.ts';

const skip = findPostgres() === undefined ? NO_POSTGRES : undefined;

interface Device {
  name: string;
  email: string;
  password: string;
  tree: string;
}

describe('cumulus server migrate --to postgres:// --blobs s3://', { skip }, () => {
  let work: string;
  let s3: RunningS3;
  let postgres: TestPostgres;
  let server: ServerProcess | undefined;
  const data = () => join(work, 'data');
  const envOf = (device: Device) => ({
    CUMULUS_CONFIG_DIR: join(work, device.name),
    CUMULUS_PASSWORD: device.password,
    CUMULUS_REPOSITORY: '',
  });
  const run = (device: Device, args: string[]): Promise<CliResult> => runCumulus(args, envOf(device));
  const json = (result: CliResult) => {
    assert.equal(result.code, 0, result.stderr);
    const text = result.stdout.trim();
    return JSON.parse(text.startsWith('{"type"') ? text.split('\n').at(-1)! : text);
  };

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'cumulus-migrate-pg-'));
    [s3, postgres] = await Promise.all([startS3rver(), startPostgres()]);
  });
  after(async () => {
    await server?.stop();
    await s3?.close();
    await postgres?.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('moves every account, continues after a kill, refuses to run twice, and every device restores from the new server', async () => {
    const laptop: Device = {
      name: 'laptop',
      email: 'ann@example.com',
      password: 'ann pw',
      tree: join(work, 'ann'),
    };
    const phone: Device = { ...laptop, name: 'phone', tree: join(work, 'ann-phone') };
    const desk: Device = {
      name: 'desk',
      email: 'bob@example.com',
      password: 'bob pw',
      tree: join(work, 'bob'),
    };
    smallFiles(laptop.tree, 20_000, 200, 7);
    writeFileSync(join(laptop.tree, 'video.bin'), randomBytes(12 << 20));
    mkdirSync(phone.tree);
    for (let i = 0; i < 40; i++) writeFileSync(join(phone.tree, `photo${i}.jpg`), randomBytes(50_000 + i));
    smallFiles(desk.tree, 3_000, 100, 11);

    server = await startServerProcess(data(), laptop.email, { CUMULUS_PASSWORD: laptop.password });
    const signIn = ['login', server.url, '--email', laptop.email];
    assert.equal((await run(laptop, [...signIn, '--device-name', laptop.name])).code, 0);
    // The account's second device: the first approves it with the code the server sends.
    const login = cumulusAsync([...signIn, '--device-name', phone.name], envOf(phone), {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const signedIn = new Promise<number | null>((resolve) => login.on('exit', resolve));
    await new Promise<void>((resolve) => {
      let said = '';
      login.stderr!.on('data', (chunk) => {
        said += chunk;
        if (said.includes('Verification code: ')) resolve();
      });
    });
    const [pending] = json(await run(laptop, ['approve', '--json'])).approvals;
    login.stdin!.end(`${pending.code}\n`);
    assert.equal(await signedIn, 0);
    const invited = await runCumulus([
      'server',
      'user',
      'add',
      '--data',
      data(),
      '--email',
      desk.email,
      '--url',
      server.url,
    ]);
    assert.equal(invited.code, 0, invited.stderr);
    const invite = /cumulus (login .*)\n/.exec(invited.stdout)![1].split(' ');
    assert.equal((await run(desk, [...invite, '--device-name', desk.name])).code, 0);

    const first = json(await run(laptop, ['backup', laptop.tree, '--json']));
    writeFileSync(join(laptop.tree, 'd0', 'f0', 'file-0.txt'), 'changed after the first backup');
    json(await run(laptop, ['backup', laptop.tree, '--json']));
    assert.equal((await run(laptop, ['forget', first.snapshot])).code, 0);
    json(await run(phone, ['backup', phone.tree, '--json']));
    json(await run(desk, ['backup', desk.tree, '--json']));
    const before = new Map<string, { snapshots: unknown; storage: { usedBytes: number } }>();
    for (const device of [laptop, phone, desk]) {
      before.set(device.name, {
        snapshots: json(await run(device, ['snapshots', '--json'])),
        storage: json(await run(device, ['storage', '--json'])),
      });
    }
    const port = Number(new URL(server.url).port);
    await server.stop();
    server = undefined;

    const databaseUrl = await postgres.database();
    const blobs = `s3://${s3.bucket}/migrated`;
    const migrate = ['server', 'migrate', '--data', data(), '--to', databaseUrl, '--blobs', blobs];

    // A database another server already uses is not migrated into.
    const inUse = await postgres.database();
    const other = await runCumulus(
      ['server', 'admin', 'create', '--data', join(work, 'other'), '--email', 'x@example.com'],
      {
        CUMULUS_DATABASE_URL: inUse,
        CUMULUS_PASSWORD: 'other admin',
      },
    );
    assert.equal(other.code, 0, other.stderr);
    const refused = await runCumulus(['server', 'migrate', '--data', data(), '--to', inUse], s3.env);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /already holds a server's accounts/);

    // Killed once the first account is done.
    const killed = cumulusAsync(migrate, s3.env);
    let printed = '';
    await new Promise<void>((resolve, reject) => {
      killed.stdout!.on('data', (chunk) => {
        printed += chunk;
        if (/^account [0-9a-f]{32}: index copied/m.test(printed)) {
          killed.kill('SIGKILL');
          resolve();
        }
      });
      killed.on('exit', () => reject(new Error(`the migration ended before it was killed: ${printed}`)));
    });
    const firstAccount = /^account ([0-9a-f]{32})/m.exec(printed)![1];

    const newServer = { ...s3.env, CUMULUS_DATABASE_URL: databaseUrl, CUMULUS_BLOB_STORE: blobs };
    const early = await runCumulus(['server', '--data', data(), '--port', '0'], newServer);
    assert.notEqual(early.code, 0, 'a server on a half-copied database would show accounts empty');
    assert.match(early.stderr, /migration from an embedded server into this database is unfinished/);

    const done = json(await runCumulus([...migrate, '--json'], s3.env));
    assert.equal(done.ok, true, JSON.stringify(done));
    assert.equal(done.accounts.length, 2);
    for (const account of done.accounts) {
      assert.deepEqual(account.problems, []);
      assert.ok(account.packsVerified >= 1);
      // (The second may have been copied too before the kill landed: a race this test does not decide.)
      if (account.accountId === firstAccount)
        assert.equal(account.index.copied, false, 'the killed run had copied it');
    }
    const accounts = done.tables.find((t: { table: string }) => t.table === 'accounts');
    assert.equal(accounts.rows, 2);
    assert.ok(done.tables.find((t: { table: string }) => t.table === 'sessions').rows >= 3);

    const again = await runCumulus(migrate, s3.env);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /already holds a completed migration/);

    // Nothing of the embedded server is read any more.
    await rename(join(data(), 'server.sqlite'), join(work, 'old-server.sqlite'));
    await rename(join(data(), 'accounts'), join(work, 'old-accounts'));
    server = await serveDataFolder(data(), newServer, 'warn', port);
    for (const device of [laptop, phone, desk]) {
      const was = before.get(device.name)!;
      assert.deepEqual(json(await run(device, ['snapshots', '--json'])), was.snapshots, device.name);
      assert.equal(
        json(await run(device, ['storage', '--json'])).usedBytes,
        was.storage.usedBytes,
        device.name,
      );
      const target = join(work, `restored-${device.name}`);
      const restore = await run(device, ['restore', 'latest', '--device', device.name, '--target', target]);
      assert.equal(restore.code, 0, restore.stderr);
      assert.deepEqual(compareTrees(device.tree, target), [], device.name);
    }
    // The device's index cache counts rows the migration renumbered: it starts again, and the backup works.
    writeFileSync(join(laptop.tree, 'after-migration.txt'), 'written on the new server');
    const next = json(await run(laptop, ['backup', laptop.tree, '--json']));
    assert.equal(next.filesNew, 1);
    const target = join(work, 'restored-after');
    assert.equal(
      (await run(laptop, ['restore', 'latest', '--device', laptop.name, '--target', target])).code,
      0,
    );
    assert.deepEqual(compareTrees(laptop.tree, target), []);
  });
});
