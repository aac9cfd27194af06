/**
 * Backups through the server at real sizes, on default limits, with the real `cumulus`
 * command: a first backup of 30,000 files through a server process completes and restores
 * identically, and the device's index cache survives being deleted; twenty devices of one
 * household, behind one address, back up at the same moment. Before the index cache and
 * per-session limits, the 30,000 files alone sent hundreds of missing-blob requests a
 * minute (one per batch and per folder) and the server's per-address limit stopped them.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadDeviceState, saveDeviceState } from '../../src/client/device-state.ts';
import { type CliResult, runCumulus, type ServerProcess, startServerProcess } from '../helpers/cli.ts';
import { compareTrees, smallFiles } from '../helpers/trees.ts';
import { approvedDevice, createAccount, startTestServer, type TestServer } from '../server/helpers.ts';

const PASSWORD = 'remote backup password';

function cumulus(configDir: string, args: string[], input = ''): Promise<CliResult> {
  return runCumulus(
    args,
    { CUMULUS_CONFIG_DIR: configDir, CUMULUS_PASSWORD: PASSWORD, CUMULUS_REPOSITORY: '' },
    input,
  );
}

function summaryOf(result: CliResult): { filesNew: number; filesUnchanged: number; bytesAdded: number } {
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout.trim().split('\n').at(-1)!);
}

describe('a first backup of 30,000 files through a server process on default settings', () => {
  let work: string;
  let server: ServerProcess;
  let tree: string;
  let device: string;
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'cumulus-remote-'));
    server = await startServerProcess(join(work, 'data'), 'home@example.com', { CUMULUS_PASSWORD: PASSWORD });
    tree = join(work, 'home');
    smallFiles(tree, 30_000, 100, 7);
    device = join(work, 'laptop');
  });
  after(async () => {
    await server.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('completes, restores identically, and an unchanged re-backup sends nothing', async () => {
    const login = await cumulus(device, [
      'login',
      server.url,
      '--email',
      'home@example.com',
      '--device-name',
      'laptop',
    ]);
    assert.equal(login.code, 0, login.stderr);
    const first = summaryOf(await cumulus(device, ['backup', tree, '--json']));
    assert.equal(first.filesNew, 30_000);

    const target = join(work, 'restored');
    const restored = await cumulus(device, ['restore', 'latest', '--target', target]);
    assert.equal(restored.code, 0, restored.stderr);
    assert.deepEqual(compareTrees(tree, target), []);

    const again = summaryOf(await cumulus(device, ['backup', tree, '--json']));
    assert.equal(again.filesUnchanged, 30_000);
    assert.equal(again.bytesAdded, 0);
  });

  it('rebuilds a deleted index cache and still sends nothing twice', async () => {
    const caches = join(device, 'cache');
    assert.equal((await readdir(caches)).length, 1, 'one cache, of the account repository');
    await rm(caches, { recursive: true });
    writeFileSync(join(tree, 'd0', 'f0', 'new.txt'), 'a new file');
    const after = summaryOf(await cumulus(device, ['backup', tree, '--json']));
    assert.equal(after.filesNew, 1);
    assert.ok(
      after.bytesAdded < 65_536,
      `only the new file and its folders were sent (${after.bytesAdded} B)`,
    );
  });
});

describe('twenty devices behind one address back up at once on default limits', () => {
  let server: TestServer;
  let work: string;
  before(async () => {
    // The generic rate limits are the defaults here; only sign-in's limit is lifted
    // (helpers.ts) so that twenty devices can be signed in within a minute for the test.
    server = await startTestServer();
    work = await mkdtemp(join(tmpdir(), 'cumulus-household-'));
  });
  after(async () => {
    await server.close();
    await rm(work, { recursive: true, force: true });
  });

  it('every backup succeeds', async () => {
    await createAccount(server, 'family@example.com', PASSWORD);
    const first = join(work, 'device-0');
    const login = await cumulus(first, [
      'login',
      server.url,
      '--email',
      'family@example.com',
      '--device-name',
      'device-0',
    ]);
    assert.equal(login.code, 0, login.stderr);
    const trusted = (await loadDeviceState(first))!;
    const devices = [first];
    for (let i = 1; i < 20; i++) {
      const dir = join(work, `device-${i}`);
      await saveDeviceState(await approvedDevice(server, trusted, PASSWORD, `device-${i}`), dir);
      devices.push(dir);
    }
    // 2,000 files in 200 folders each: one missing-blob question per folder and per batch
    // made each device send over 200 requests, 4,000 from the one address together.
    const trees = devices.map((_, i) => {
      const tree = join(work, `files-${i}`);
      smallFiles(tree, 2_000, 10, 100 + i);
      return tree;
    });
    const results = await Promise.all(devices.map((dir, i) => cumulus(dir, ['backup', trees[i], '--json'])));
    for (const result of results) assert.equal(summaryOf(result).filesNew, 2_000);
  });
});
