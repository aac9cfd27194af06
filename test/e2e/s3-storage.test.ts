/**
 * A real `cumulus server` process keeping packs in S3 (CUMULUS_BLOB_STORE=s3://…, an
 * s3rver on a loopback port in this process) with the embedded SQLite metadata: the real
 * CLI backs up a few thousand files and a few larger ones and restores them identically
 * (every blob read back from the bucket and verified). The data folder holds
 * no pack, and `cumulus server status` names the bucket, prefix and endpoint, never a key.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type RunningS3, s3StoreAt, startS3rver } from '../../src/store/s3-testing.ts';
import {
  type CliResult,
  runCumulus,
  type ServerProcess,
  signInBackUpRestore,
  startServerProcess,
} from '../helpers/cli.ts';

const PASSWORD = 's3 storage password';
const PREFIX = 'e2e/packs';

describe('a server process with its packs in S3', () => {
  let work: string;
  let s3: RunningS3;
  let server: ServerProcess;
  let serverEnv: Record<string, string>;
  let tree: string;
  const device = () => join(work, 'laptop');
  const cumulus = (args: string[]): Promise<CliResult> =>
    runCumulus(args, { CUMULUS_CONFIG_DIR: device(), CUMULUS_PASSWORD: PASSWORD, CUMULUS_REPOSITORY: '' });

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'cumulus-s3-e2e-'));
    s3 = await startS3rver();
    serverEnv = { ...s3.env, CUMULUS_BLOB_STORE: `s3://${s3.bucket}/${PREFIX}`, CUMULUS_PASSWORD: PASSWORD };
    server = await startServerProcess(join(work, 'data'), 'office@example.com', serverEnv);
    tree = join(work, 'home');
    for (let i = 0; i < 3000; i++) {
      const folder = join(tree, `d${i % 30}`);
      if (i < 30) mkdirSync(folder, { recursive: true });
      writeFileSync(join(folder, `f${i}.txt`), `file ${i} `.repeat(1 + (i % 50)));
    }
    // Larger files span packs, so restores read ranges of several objects.
    for (let i = 0; i < 3; i++) writeFileSync(join(tree, `big${i}.bin`), randomBytes(6 << 20));
  });
  after(async () => {
    await server?.stop();
    await s3?.close();
    await rm(work, { recursive: true, force: true });
  });

  it('backs up and restores identically', async () => {
    await signInBackUpRestore(cumulus, {
      url: server.url,
      email: 'office@example.com',
      tree,
      target: join(work, 'restored'),
      files: 3003,
    });
  });

  it('keeps the packs in the bucket under prefix/<account>/, none in the data folder', async () => {
    const accounts = await readdir(join(work, 'data', 'accounts'));
    assert.equal(accounts.length, 1);
    const [account] = accounts;
    assert.equal(existsSync(join(work, 'data', 'accounts', account, 'packs')), false);
    const { store, close } = s3StoreAt(s3, { prefix: `${PREFIX}/${account}` });
    try {
      let packs = 0;
      for await (const object of store.list('packs/')) if (object.size > 0) packs++;
      assert.ok(packs >= 2, `${packs} packs in the bucket`);
    } finally {
      close();
    }
  });

  it('server status names the bucket, prefix and endpoint, and no key', async () => {
    const status = await runCumulus(['server', 'status', '--data', join(work, 'data')], serverEnv);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, new RegExp(`Packs: s3://${s3.bucket}/${PREFIX} at ${s3.endpoint}`));
    // Amber is the probe finding the storage slow: on a loaded machine it can be; red would be a fault.
    assert.match(status.stdout, /Blob storage: (green|amber \(blob storage is slow)/i);
    assert.doesNotMatch(status.stdout + status.stderr + server.output(), /S3RVER/);
  });
});
