/**
 * The repository API over real HTTP on loopback: backup and restore through the server,
 * a second device restoring the first's backup, dedup across the devices of one account,
 * isolation between accounts, and a server restart in the middle of a backup.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as api from '../../src/api/repository.ts';
import { backup } from '../../src/client/archiver/archiver.ts';
import { findDeviceSnapshot } from '../../src/client/remote-vault.ts';
import { restore } from '../../src/client/restorer.ts';
import { compareTrees } from '../helpers/trees.ts';
import { clientOf, rejectsWith, request, startTestServer, type TestServer } from './helpers.ts';
import {
  backUp,
  newAccount,
  randomTree,
  secondDevice,
  storeOf,
  type TestDevice,
  vaultOf,
} from './repository-helpers.ts';

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

describe('repository API across devices and accounts', () => {
  let server: TestServer;
  let laptop: TestDevice;
  let desktop: TestDevice;
  let stranger: TestDevice;
  let tree: string;
  before(async () => {
    server = await startTestServer();
    laptop = await newAccount(server, 'two@example.com');
    desktop = await secondDevice(server, laptop.state, 'desktop');
    stranger = await newAccount(server, 'other@example.com');
    tree = await randomTree(4, 400_000, 2);
    await backUp(laptop, [tree]);
  });
  after(() => server.close());

  it("lets a second device restore the first device's backup", async () => {
    const target = await mkdtemp(join(tmpdir(), 'cumulus-restore-'));
    const snapshot = await findDeviceSnapshot(desktop.vault, 'latest', 'laptop');
    await restore(desktop.vault, snapshot, { target });
    assert.deepEqual(compareTrees(tree, target), []);
  });

  it('deduplicates across the devices of one account: the second upload adds almost nothing', async () => {
    const before = await desktop.vault.repo.usage();
    const result = await backUp(desktop, [tree]);
    const after = await desktop.vault.repo.usage();
    // Only the trees and the snapshot differ (another host); the 1.6 MB of data is shared.
    assert.ok(result.summary.bytesAdded < 10_000, `added ${result.summary.bytesAdded} bytes`);
    assert.ok(after.referencedBytes - before.referencedBytes < 10_000);
  });

  it("answers 404 for another account's snapshot, blob, device and write-session IDs, and never shares data", async () => {
    const [snapshot] = await laptop.vault.repo.listSnapshots();
    assert.deepEqual((await stranger.vault.repo.readBlobs([snapshot.id])).get(snapshot.id), {
      ok: false,
      code: 'blob_missing',
      reason: `blob ${snapshot.id} is not in the index`,
    });
    await rejectsWith(stranger.vault.repo.forgetSnapshots([snapshot.id]), 'snapshot_not_found');
    assert.equal((await stranger.vault.repo.listSnapshots()).length, 0);
    // Dedup never spans accounts: the stranger is told it lacks every blob the laptop holds.
    const ids = snapshot.sources.map((s) => s.tree).concat(snapshot.id);
    assert.equal((await stranger.vault.repo.missingBlobs(ids)).size, ids.length);
    const client = clientOf(stranger.state);
    await rejectsWith(
      client.call(api.deleteSource, {
        body: { deviceId: laptop.state.deviceId, sourceId: snapshot.sources[0].id, confirm: true },
      }),
      'not_found',
    );
    await rejectsWith(
      client.call(api.deleteDeviceBackups, { body: { deviceId: laptop.state.deviceId, confirm: true } }),
      'not_found',
    );
    const { sessionId } = await clientOf(laptop.state).call(api.beginWrite, {});
    await rejectsWith(client.call(api.heartbeatWrite, { params: { sessionId } }), 'not_found');
    // And the owner's data is still whole.
    assert.equal((await laptop.vault.repo.missingBlobs(ids)).size, 0);
  });

  it('refuses bad input with 4xx JSON errors', async () => {
    const token = laptop.state.token;
    const pack = await request(server.url, 'PUT', `/api/repo/packs/${'ab'.repeat(32)}`, {
      token,
      body: 'not a pack',
      headers: { 'content-type': 'application/octet-stream' },
    });
    assert.equal(pack.status, 422);
    assert.equal(pack.body.error.code, 'corrupt');
    const json = await request(server.url, 'PUT', `/api/repo/packs/${'ab'.repeat(32)}`, { token, json: {} });
    assert.equal(json.status, 415);
    const badId = await request(server.url, 'POST', '/api/repo/blobs/missing', {
      token,
      json: { ids: ['xyz'] },
    });
    assert.equal(badId.status, 400);
    const noAuth = await request(server.url, 'GET', '/api/repo/snapshots');
    assert.equal(noAuth.status, 401);
    const refs = await request(server.url, 'POST', '/api/repo/snapshots', {
      token,
      json: {
        id: 'cd'.repeat(32),
        time: new Date().toISOString(),
        sources: [{ id: 'aa', tree: 'cd'.repeat(32), logicalSize: 0, refs: 'AAA=' }],
      },
    });
    assert.equal(refs.status, 400);
  });
});

describe('repository API reads: per-blob answers, bounded in bytes', () => {
  let server: TestServer;
  let laptop: TestDevice;
  let tree: string;
  before(async () => {
    server = await startTestServer();
    laptop = await newAccount(server, 'reads@example.com');
    tree = await randomTree(3, 9 << 20, 5);
    await backUp(laptop, [tree]);
  });
  after(() => server.close());

  it('answers at most MAX_READ_ANSWER_BYTES plus one run per request; the client asks again for the rest', async () => {
    const { store } = await storeOf(server, laptop.state.accountId);
    const ids = await store.listBlobIds('data');
    const answer = await fetch(`${server.url}${api.readBlobs.url}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${laptop.state.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ids }),
    });
    assert.equal(answer.status, 200);
    const framed = Buffer.from(await answer.arrayBuffer());
    const answered = api.unframeBlobs(framed);
    assert.ok(answered.size > 0 && answered.size < ids.length, `${answered.size} of ${ids.length} answered`);
    assert.ok(framed.length <= api.MAX_READ_ANSWER_BYTES + (8 << 20), `${framed.length} bytes in one answer`);
    const all = await laptop.vault.repo.readBlobs(ids);
    assert.equal([...all.values()].filter((r) => r.ok).length, ids.length);
  });

  it('a pack missing on the server costs only its blobs: the rest of the snapshot restores', async () => {
    const { store } = await storeOf(server, laptop.state.accountId);
    const ids = await store.listBlobIds('data');
    // A pack of file data only: the snapshot blob and the root tree are in the last pack.
    const [record] = await laptop.vault.repo.listSnapshots();
    const lastPacks = new Set(
      await Promise.all(
        [record.id, record.sources[0].tree].map(async (id) => (await store.locate(id))!.packId),
      ),
    );
    const packs = await Promise.all(ids.map(async (id) => (await store.locate(id))!.packId));
    const lost = packs.find((pack) => !lastPacks.has(pack))!;
    await rm(join(server.dataDir, 'accounts', laptop.state.accountId, 'packs', lost.slice(0, 2), lost));
    const reads = await laptop.vault.repo.readBlobs(ids);
    const failed = [...reads].filter(([, r]) => !r.ok);
    assert.ok(failed.length > 0 && failed.length < ids.length);
    for (const [, read] of failed)
      assert.deepEqual(read, {
        ok: false,
        code: 'pack_missing',
        packId: lost,
        reason: `pack ${lost} is missing from storage`,
      });
    const target = await mkdtemp(join(tmpdir(), 'cumulus-restore-'));
    const result = await restore(laptop.vault, await laptop.vault.findSnapshot('latest'), { target });
    assert.ok(result.failed.length > 0 && result.failed.length < 3, JSON.stringify(result.failed));
    const lostFiles = result.failed.map((f) => f.path);
    assert.deepEqual(
      compareTrees(tree, target).filter((d) => !lostFiles.includes(d.path)),
      [],
    );
  });
});

describe('repository API when the server restarts during a backup', () => {
  it('keeps what was committed and lets the client resume', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'cumulus-server-'));
    let server = await startTestServer({ dataDir });
    const port = Number(new URL(server.url).port);
    const laptop = await newAccount(server, 'restart@example.com');
    const first = await randomTree(2, 200_000, 3);
    await backUp(laptop, [first]);
    const tree = await randomTree(8, 1_500_000, 4);
    const vault = vaultOf(laptop.state, { attempts: 40, baseDelayMs: 50, maxDelayMs: 250 });
    const device = { state: laptop.state, vault };
    const putPack = vault.repo.putPack.bind(vault.repo);
    let restarted: Promise<void> | undefined;
    // Restart the server as the first pack goes up: the upload fails, then is sent again.
    let packs = 0;
    vault.repo.putPack = async (pack, id) => {
      if (++packs === 1)
        restarted ??= (async () => {
          await server.close();
          server = await startTestServer({ dataDir, config: { port } });
        })();
      return putPack(pack, id);
    };
    await backup(vault, { paths: [tree], host: 'laptop', workers: 1 });
    assert.ok(restarted, 'the server restarted during the upload');
    await restarted;
    const snapshots = await device.vault.listSnapshots();
    assert.equal(snapshots.length, 2, 'the snapshot before the restart and the one across it');
    for (const [source, snapshot] of [
      [first, snapshots[0]],
      [tree, snapshots[1]],
    ] as const) {
      const target = await mkdtemp(join(tmpdir(), 'cumulus-restore-'));
      await restore(vault, snapshot, { target });
      assert.deepEqual(compareTrees(source, target), []);
    }
    await server.close();
    await rm(dataDir, { recursive: true, force: true });
  });
});
