/**
 * Pins over real HTTP: a pinned snapshot cannot be forgotten until unpinned, a pinned
 * device is listed as such, another account's snapshot or device is not found, and a bad
 * ID is refused before anything is looked up.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as lifecycle from '../../src/api/lifecycle.ts';
import * as repository from '../../src/api/repository.ts';
import { clientOf, rejectsWith, request, startTestServer, type TestServer } from './helpers.ts';
import { commitBlobs } from './lifecycle-helpers.ts';
import { newAccount, type TestDevice } from './repository-helpers.ts';

describe('pins', () => {
  let server: TestServer;
  let owner: TestDevice;
  let other: TestDevice;
  before(async () => {
    server = await startTestServer();
    owner = await newAccount(server, 'pins@example.com');
    other = await newAccount(server, 'other-pins@example.com');
  });
  after(() => server.close());

  it('keeps a pinned snapshot from forget until it is unpinned', async () => {
    const client = clientOf(owner.state);
    const { id } = await commitBlobs(owner, server.clock.now(), [1000]);
    await client.call(lifecycle.pinSnapshot, { params: { snapshotId: id } });
    await client.call(lifecycle.pinSnapshot, { params: { snapshotId: id } }); // twice is fine
    const pins = await client.call(lifecycle.listPins, {});
    assert.deepEqual(
      pins.snapshots.map((p) => p.snapshotId),
      [id],
    );
    await rejectsWith(client.call(repository.forgetSnapshots, { body: { ids: [id] } }), 'conflict', /pinned/);
    assert.equal(
      (await client.call(repository.listSnapshots, { query: {} })).snapshots.length,
      1,
      'nothing forgotten',
    );

    await client.call(lifecycle.unpinSnapshot, { params: { snapshotId: id } });
    assert.deepEqual((await client.call(lifecycle.listPins, {})).snapshots, []);
    await client.call(repository.forgetSnapshots, { body: { ids: [id] } });
    assert.equal((await client.call(repository.listSnapshots, { query: {} })).snapshots.length, 0);
  });

  it('pins and unpins a device of the account', async () => {
    const client = clientOf(owner.state);
    await client.call(lifecycle.pinDevice, { params: { deviceId: owner.state.deviceId } });
    assert.deepEqual(
      (await client.call(lifecycle.listPins, {})).devices.map((p) => p.deviceId),
      [owner.state.deviceId],
    );
    assert.deepEqual(
      await server.services.pins.pinnedDevices(owner.state.accountId),
      new Set([owner.state.deviceId]),
    );
    await client.call(lifecycle.unpinDevice, { params: { deviceId: owner.state.deviceId } });
    assert.deepEqual((await client.call(lifecycle.listPins, {})).devices, []);
  });

  it("does not find another account's snapshot or device, and pins nothing of it", async () => {
    const { id } = await commitBlobs(other, server.clock.now(), [500]);
    const client = clientOf(owner.state);
    await rejectsWith(
      client.call(lifecycle.pinSnapshot, { params: { snapshotId: id } }),
      'snapshot_not_found',
    );
    await rejectsWith(
      client.call(lifecycle.unpinSnapshot, { params: { snapshotId: id } }),
      'snapshot_not_found',
    );
    await rejectsWith(
      client.call(lifecycle.pinDevice, { params: { deviceId: other.state.deviceId } }),
      'not_found',
    );
    assert.deepEqual(await server.services.pins.pinnedDevices(owner.state.accountId), new Set());
    assert.deepEqual(await server.services.pins.pinnedSnapshots(owner.state.accountId), new Set());
  });

  it('refuses an ID that is not one before looking anything up', async () => {
    for (const path of ['/api/pins/snapshots/abc', '/api/pins/devices/not-an-id']) {
      const answer = await request(server.url, 'PUT', path, { token: owner.state.token });
      assert.equal(answer.status, 400, `${path} → ${JSON.stringify(answer.body)}`);
    }
  });
});
