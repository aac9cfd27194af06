/**
 * The real `cumulus` CLI against a real server on loopback, as a user would: sign in, back
 * up a folder to the account without --repo, restore it on a second device, see Manage
 * Storage with decrypted paths, and delete a source's data for exactly the promised bytes.
 */
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadDeviceState, saveDeviceState } from '../../src/client/device-state.ts';
import { type CliResult, runCumulus } from '../helpers/cli.ts';
import { compareTrees } from '../helpers/trees.ts';
import { approvedDevice, createAccount, startTestServer, type TestServer } from '../server/helpers.ts';
import { PASSWORD, randomTree } from '../server/repository-helpers.ts';

/** cumulus runs the real command as the device whose state is in `configDir`. */
function cumulus(configDir: string, args: string[]): Promise<CliResult> {
  return runCumulus(args, {
    CUMULUS_CONFIG_DIR: configDir,
    CUMULUS_PASSWORD: PASSWORD,
    CUMULUS_REPOSITORY: '',
  });
}

describe('cumulus backup, restore and storage through the server', () => {
  let server: TestServer;
  let laptop: string;
  let desktop: string;
  let documents: string;
  let music: string;
  before(async () => {
    server = await startTestServer();
    await createAccount(server, 'cli@example.com', PASSWORD);
    laptop = await mkdtemp(join(tmpdir(), 'cumulus-laptop-'));
    desktop = await mkdtemp(join(tmpdir(), 'cumulus-desktop-'));
    documents = await randomTree(3, 150_000, 31);
    music = await randomTree(2, 250_000, 32);
  });
  after(() => server.close());

  it('signs in and backs up to the account without --repo', async () => {
    const login = await cumulus(laptop, [
      'login',
      server.url,
      '--email',
      'cli@example.com',
      '--device-name',
      'laptop',
    ]);
    assert.equal(login.code, 0, login.stderr);
    const result = await cumulus(laptop, ['backup', documents, music, '--json']);
    assert.equal(result.code, 0, result.stderr);
    const summary = JSON.parse(result.stdout.trim().split('\n').at(-1)!);
    assert.equal(summary.logicalBytes, 950_000);
  });

  it("restores the laptop's backup on a second device", async () => {
    const trusted = (await loadDeviceState(laptop))!;
    await saveDeviceState(await approvedDevice(server, trusted, PASSWORD, 'desktop'), desktop);
    const target = await mkdtemp(join(tmpdir(), 'cumulus-restore-'));
    const result = await cumulus(desktop, ['restore', 'latest', '--device', 'laptop', '--target', target]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(compareTrees(documents, join(target, documents.split('/').at(-1)!)), []);
    const snapshots = JSON.parse((await cumulus(desktop, ['snapshots', '--json'])).stdout);
    assert.deepEqual(
      snapshots.map((s: { device: string }) => s.device),
      ['laptop'],
      "the server names the laptop's snapshot's device",
    );
  });

  it('shows storage per source and frees exactly the promised bytes', async () => {
    const shown = await cumulus(laptop, ['storage', '--json']);
    assert.equal(shown.code, 0, shown.stderr);
    const report = JSON.parse(shown.stdout);
    const source = report.devices[0].sources.find((s: { path: string }) => s.path === music);
    assert.ok(source, 'the source is named by its path');
    assert.equal(source.logicalSize, 500_000);
    const refused = await cumulus(laptop, ['storage', 'delete-source', music]);
    assert.notEqual(refused.code, 0, 'without "yes" nothing is deleted');
    const deleted = await cumulus(laptop, ['storage', 'delete-source', music, '--yes', '--json']);
    assert.equal(deleted.code, 0, deleted.stderr);
    const result = JSON.parse(deleted.stdout);
    assert.equal(result.freedBytes, source.exclusiveBytes);
    assert.equal(result.usedBytes, report.usedBytes - source.exclusiveBytes);
    const text = await cumulus(laptop, ['storage']);
    assert.match(text.stdout, /laptop \(this device\)/);
    assert.doesNotMatch(text.stdout, new RegExp(music));
  });
});
