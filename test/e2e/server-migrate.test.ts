/**
 * `cumulus server migrate --blobs s3://…` on a populated embedded server: the real CLI
 * backs up through a server process keeping packs in its data folder and forgets one
 * snapshot (a tombstone); migrating is refused while the server runs; with it stopped, a migration that the storage stops
 * midway fails clearly, a second run continues (what is already in the bucket is not sent
 * again) and verifies every pack there; the server restarted on the bucket, with the
 * folder's packs moved away, restores identically.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FaultyS3, type RunningS3, startS3rver } from '../../src/store/s3-testing.ts';
import {
  type CliResult,
  runCumulus,
  type ServerProcess,
  serveDataFolder,
  startServerProcess,
} from '../helpers/cli.ts';
import { compareTrees } from '../helpers/trees.ts';

const PASSWORD = 'migration password';

describe('cumulus server migrate --blobs', () => {
  let work: string;
  let s3: RunningS3;
  let faulty: FaultyS3;
  let server: ServerProcess | undefined;
  let tree: string;
  const data = () => join(work, 'data');
  const cumulus = (args: string[]): Promise<CliResult> =>
    runCumulus(args, {
      CUMULUS_CONFIG_DIR: join(work, 'laptop'),
      CUMULUS_PASSWORD: PASSWORD,
      CUMULUS_REPOSITORY: '',
    });
  const json = (result: CliResult) => {
    assert.equal(result.code, 0, result.stderr);
    // A backup prints one JSON line per event (the summary last); the others one document.
    const text = result.stdout.trim();
    return JSON.parse(text.startsWith('{"type"') ? text.split('\n').at(-1)! : text);
  };

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'cumulus-migrate-'));
    s3 = await startS3rver();
    faulty = await FaultyS3.start(s3);
    tree = join(work, 'home');
    mkdirSync(join(tree, 'docs'), { recursive: true });
    for (let i = 0; i < 200; i++) writeFileSync(join(tree, 'docs', `n${i}.txt`), `note ${i}\n`.repeat(i + 1));
    for (let i = 0; i < 2; i++) writeFileSync(join(tree, `photo${i}.raw`), randomBytes(9 << 20));
  });
  after(async () => {
    await server?.stop();
    await faulty.close();
    await s3.close();
    await rm(work, { recursive: true, force: true });
  });

  it('moves every pack and tombstone, resumes after a failure, verifies, and the server restores from the bucket', async () => {
    server = await startServerProcess(data(), 'family@example.com', { CUMULUS_PASSWORD: PASSWORD });
    const login = await cumulus([
      'login',
      server.url,
      '--email',
      'family@example.com',
      '--device-name',
      'laptop',
    ]);
    assert.equal(login.code, 0, login.stderr);
    const first = json(await cumulus(['backup', tree, '--json']));
    writeFileSync(join(tree, 'docs', 'later.txt'), 'written after the first backup');
    json(await cumulus(['backup', tree, '--json']));
    const forget = await cumulus(['forget', first.snapshot]);
    assert.equal(forget.code, 0, forget.stderr);
    const url = `s3://${s3.bucket}/moved`;
    const migrate = (env: Record<string, string>) =>
      runCumulus(['server', 'migrate', '--data', data(), '--blobs', url, '--json'], env);
    const busy = await migrate(s3.env);
    assert.notEqual(busy.code, 0);
    assert.match(busy.stderr, /server process\(es\) run on this data/, 'uploads meanwhile would be missed');

    const port = Number(new URL(server.url).port);
    await server.stop();
    server = undefined;

    const [account] = await readdir(join(data(), 'accounts'));
    const packs: string[] = [];
    for (const folder of await readdir(join(data(), 'accounts', account, 'packs')))
      for (const name of await readdir(join(data(), 'accounts', account, 'packs', folder))) packs.push(name);
    assert.ok(packs.length >= 3, `${packs.length} packs`);

    // The storage fails every write of the last pack in name order: the run stops there.
    const last = packs.sort().at(-1)!;
    faulty.inject('internalError', { method: 'PUT', key: new RegExp(last), times: 1000 });
    const failed = await migrate(faulty.env);
    assert.notEqual(failed.code, 0);
    assert.match(failed.stderr, new RegExp(`bucket ${s3.bucket}.*InternalError`));
    faulty.clear();

    const done = json(await migrate(faulty.env));
    assert.equal(done.ok, true);
    const [report] = done.accounts;
    assert.equal(report.accountId, account);
    assert.equal(report.objects, packs.length + 1, 'every pack and the tombstone');
    assert.ok(report.skipped >= packs.length - 1, 'what the first run copied is not sent again');
    assert.ok(report.copied >= 1);
    assert.deepEqual(report.problems, []);
    assert.ok(report.packsVerified >= 1);

    // The folder's packs are no longer used: the server reads the bucket.
    await rename(join(data(), 'accounts', account, 'packs'), join(work, 'old-packs'));
    server = await serveDataFolder(
      data(),
      { ...s3.env, CUMULUS_BLOB_STORE: url, CUMULUS_PASSWORD: PASSWORD },
      'warn',
      port,
    );
    const snapshots = json(await cumulus(['snapshots', '--json']));
    assert.equal(snapshots.length, 1, 'the forgotten snapshot stays forgotten');
    const target = join(work, 'restored');
    const restore = await cumulus(['restore', 'latest', '--target', target]);
    assert.equal(restore.code, 0, restore.stderr);
    assert.deepEqual(compareTrees(tree, target), []);
  });
});
