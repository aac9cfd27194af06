/**
 * The repository API over real HTTP on loopback: backup and restore through the server,
 * a second device restoring the first's backup, dedup across the devices of one account,
 * isolation between accounts, and a server restart in the middle of a backup.
 */
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { restore } from '../../src/client/restorer.ts';
import { compareTrees } from '../helpers/trees.ts';
import { startTestServer, type TestServer } from './helpers.ts';
import { backUp, newAccount, randomTree, secondDevice, type TestDevice } from './repository-helpers.ts';

async function restoreInto(device: TestDevice, snapshotRef = 'latest'): Promise<string> {
  const target = await mkdtemp(join(tmpdir(), 'cumulus-restore-'));
  const snapshot = await device.vault.findSnapshot(snapshotRef);
  await restore(device.vault, snapshot, { target });
  return target;
}

describe('repository API', () => {
  let server: TestServer;
  let laptop: TestDevice;
  let tree: string;
  before(async () => {
    server = await startTestServer();
    laptop = await newAccount(server, 'repo@example.com');
    tree = await randomTree(6, 300_000, 1);
  });
  after(() => server.close());

  it('backs up through the server and restores the identical tree', async () => {
    const result = await backUp(laptop, [tree]);
    assert.ok(result.summary.bytesAdded > 1_000_000);
    const target = await restoreInto(laptop);
    assert.deepEqual(compareTrees(tree, target), []);
  });
});
