/**
 * Manage Storage through real HTTP: the exact bytes per device and source, deletes that
 * lower usage by exactly what the view promised, garbage collection on the server that
 * then frees the pack bytes, and GC that leaves uploads in flight alone.
 */
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as api from '../../src/api/repository.ts';
import { backup } from '../../src/client/archiver/archiver.ts';
import { restore } from '../../src/client/restorer.ts';
import { PackBuilder } from '../../src/core/pack.ts';
import { compareTrees } from '../helpers/trees.ts';
import { clientOf, startTestServer, type TestServer } from './helpers.ts';
import {
  backUp,
  newAccount,
  randomTree,
  secondDevice,
  storeOf,
  type TestDevice,
} from './repository-helpers.ts';

describe('Manage Storage', () => {
  let server: TestServer;
  let laptop: TestDevice;
  let desktop: TestDevice;
  let photos: string;
  let shared: string;
  before(async () => {
    server = await startTestServer();
    laptop = await newAccount(server, 'storage@example.com');
    desktop = await secondDevice(server, laptop.state, 'desktop');
    // Two thirds of the laptop's one pack: deleting them makes gc repack it.
    photos = await randomTree(3, 400_000, 11);
    shared = await randomTree(2, 300_000, 12);
    await backUp(laptop, [photos, shared]);
    await backUp(desktop, [shared]);
  });
  after(() => server.close());

  const storage = () => clientOf(laptop.state).call(api.getStorage, {});

  it('shows logical, stored and exclusive bytes per device and source', async () => {
    const report = await storage();
    assert.equal(report.devices.length, 2);
    const mine = report.devices.find((d) => d.deviceId === laptop.state.deviceId)!;
    assert.equal(mine.deviceName, 'laptop');
    assert.equal(mine.current, true);
    const [photosSource, sharedSource] = [photos, shared].map((path) =>
      mine.sources.find((s) => s.id === laptop.vault.sourceId('laptop', path)),
    );
    assert.equal(photosSource!.logicalSize, 1_200_000);
    assert.equal(sharedSource!.logicalSize, 600_000);
    // The photos are the laptop's alone; the shared folder's data is also the desktop's.
    assert.ok(photosSource!.exclusiveBytes > 1_200_000);
    assert.ok(photosSource!.sharedBytes < 5_000, 'only the snapshot blob is shared with the other source');
    assert.ok(sharedSource!.sharedBytes > 600_000);
    assert.ok(sharedSource!.exclusiveBytes < 5_000, 'only its tree is its own');
    assert.ok(report.usedBytes > 0);
  });

  it("deleting a source's data lowers usage by exactly the promised bytes, and gc frees the packs", async () => {
    const before = await storage();
    const sourceId = laptop.vault.sourceId('laptop', photos);
    const promised = before.devices
      .find((d) => d.deviceId === laptop.state.deviceId)!
      .sources.find((s) => s.id === sourceId)!.exclusiveBytes;
    const result = await clientOf(laptop.state).call(api.deleteSource, {
      body: { deviceId: laptop.state.deviceId, sourceId, confirm: true },
    });
    assert.equal(result.freedBytes, promised);
    const after = await storage();
    assert.equal(before.usedBytes - after.usedBytes, promised);
    assert.equal(result.usedBytes, after.usedBytes);
    const account = await storeOf(server, laptop.state.accountId);
    await account.idle();
    const packsBefore = (await account.store.usage()).totalPackBytes;
    server.clock.advance(1000);
    await account.collectGarbage({ graceMs: 0 });
    const packsAfter = (await account.store.usage()).totalPackBytes;
    assert.ok(packsBefore - packsAfter >= promised * 0.5, `gc freed ${packsBefore - packsAfter} bytes`);
    // What is left still restores.
    const target = await mkdtemp(join(tmpdir(), 'cumulus-restore-'));
    await restore(desktop.vault, await desktop.vault.findSnapshot('latest'), { target });
    assert.deepEqual(compareTrees(shared, target), []);
  });

  it("deleting a device's backup lowers usage by exactly its exclusive bytes", async () => {
    const before = await storage();
    const promised = before.devices.find((d) => d.deviceId === desktop.state.deviceId)!.exclusiveBytes;
    const result = await clientOf(laptop.state).call(api.deleteDeviceBackups, {
      body: { deviceId: desktop.state.deviceId, confirm: true },
    });
    assert.equal(result.freedBytes, promised);
    const after = await storage();
    assert.equal(before.usedBytes - after.usedBytes, promised);
    assert.deepEqual(
      after.devices.map((d) => d.deviceName),
      ['laptop'],
    );
  });

  it('refuses a delete without the explicit confirmation', async () => {
    const response = await fetch(`${server.url}/api/storage/delete-device`, {
      method: 'POST',
      headers: { authorization: `Bearer ${laptop.state.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ deviceId: laptop.state.deviceId }),
    });
    assert.equal(response.status, 400);
    assert.equal((await storage()).devices.length, 1);
  });
});

describe('garbage collection and uploads in flight', () => {
  let server: TestServer;
  let laptop: TestDevice;
  before(async () => {
    server = await startTestServer();
    laptop = await newAccount(server, 'gc@example.com');
  });
  after(() => server.close());

  function onePack(seed: number) {
    const builder = new PackBuilder();
    const id = seed.toString(16).padStart(64, '0');
    builder.add('data', id, Buffer.alloc(10_000, seed));
    return { ...builder.finish(), blobId: id };
  }

  it('keeps an uncommitted upload while its write session lives, and collects one without a session', async () => {
    const account = await storeOf(server, laptop.state.accountId);
    const session = await laptop.vault.repo.beginWrite();
    server.clock.advance(10_000);
    const protectedPack = onePack(1);
    await laptop.vault.repo.putPack(protectedPack.bytes, protectedPack.id);
    server.clock.advance(10_000);
    await account.collectGarbage({ graceMs: 0 });
    assert.equal(await account.store.hasPack(protectedPack.id), true, 'the session protects it');
    await laptop.vault.repo.commitSnapshot({
      id: protectedPack.blobId,
      time: new Date().toISOString(),
      sources: [{ id: 'aa', tree: protectedPack.blobId, logicalSize: 1, refs: [] }],
    });
    await session.release();

    const orphan = onePack(2);
    await laptop.vault.repo.putPack(orphan.bytes, orphan.id);
    server.clock.advance(10_000);
    await account.collectGarbage({ graceMs: 0 });
    assert.equal(await account.store.hasPack(orphan.id), false, 'without a session nothing protects it');
    assert.equal(await account.store.hasPack(protectedPack.id), true, 'committed data stays');
  });

  it('lets a backup commit and restore while gc runs again and again', async () => {
    const phone = await newAccount(server, 'gc-loop@example.com', 'phone');
    const account = await storeOf(server, phone.state.accountId);
    const tree = await randomTree(6, 500_000, 21);
    let running = true;
    let runs = 0;
    const collector = (async () => {
      while (running) {
        server.clock.advance(1000);
        await account.collectGarbage({ graceMs: 0 });
        runs++;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    const result = await backup(phone.vault, { paths: [tree], host: 'phone', workers: 1 }).finally(() => {
      running = false;
    });
    await collector;
    assert.ok(runs > 1, `gc ran ${runs} times during the backup`);
    await account.collectGarbage({ graceMs: 0 });
    const target = await mkdtemp(join(tmpdir(), 'cumulus-restore-'));
    await restore(phone.vault, await phone.vault.findSnapshot(result.snapshotId), { target });
    assert.deepEqual(compareTrees(tree, target), []);
  });
});
