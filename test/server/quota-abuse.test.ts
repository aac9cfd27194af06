/**
 * Replays of the quota attacks of issue 11 (#1, #2) through real HTTP, with only a device
 * token: a pack table that names a blob twice, copies of a blob the account already holds,
 * and uploads that are never committed. Each must cost its sender quota until the server
 * collects it, and the server collects it on its own schedule.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import * as api from '../../src/api/repository.ts';
import { PackBuilder } from '../../src/core/pack.ts';
import { DEFAULT_SERVER_GRACE_MS } from '../../src/server/services/account-repositories.ts';
import { clientOf, rejectsWith, request, startTestServer, type TestServer } from './helpers.ts';
import {
  newAccount,
  setQuota,
  storeOf,
  type TestDevice,
  uploadPack as upload,
} from './repository-helpers.ts';

const KiB = 1024;
const MiB = 1024 * KiB;

type Blob = { id: string; size: number };

function packOf(blobs: Blob[]) {
  const builder = new PackBuilder();
  for (const blob of blobs) builder.add('data', blob.id, randomBytes(blob.size));
  return builder.finish();
}

function blob(size: number): Blob {
  return { id: randomBytes(32).toString('hex'), size };
}

async function until(what: string, condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('quota attacks (issue 11 #1)', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  it('refuses a pack whose table names the same blob twice (1 byte + 900 KiB cost 1 byte)', async () => {
    const attacker = await newAccount(server, 'twice@example.com');
    await setQuota(server, attacker.state.accountId, 2 * MiB);
    const x = randomBytes(32).toString('hex');
    const pack = packOf([
      { id: x, size: 1 },
      { id: x, size: 900 * KiB },
    ]);
    const answer = await upload(server, attacker, pack);
    assert.equal(answer.status, 400);
    assert.equal(answer.body.error.code, 'invalid_input');
    assert.match(answer.body.error.message, new RegExp(`names blob ${x} twice`));
    const { store } = await storeOf(server, attacker.state.accountId);
    assert.equal(await store.hasPack(pack.id), false);
    assert.equal((await store.usage()).totalPackBytes, 0);
  });

  it('counts copies of a blob the account holds against the quota, and gc repacks them away', async () => {
    const attacker = await newAccount(server, 'copies@example.com');
    await setQuota(server, attacker.state.accountId, 2 * MiB);
    const x = blob(1);
    assert.equal((await upload(server, attacker, packOf([x]))).status, 200);
    // Each pack: another copy of X (ignored by the index: X keeps its first location) and a tiny blob.
    const accepted: Blob[] = [];
    let refused = 0;
    for (let i = 0; i < 30; i++) {
      const tiny = blob(10);
      const answer = await upload(server, attacker, packOf([{ id: x.id, size: 900 * KiB }, tiny]));
      if (answer.status === 200) accepted.push(tiny);
      else {
        assert.equal(answer.status, 507);
        assert.equal(answer.body.error.code, 'quota_exceeded');
        refused++;
      }
    }
    assert.equal(accepted.length, 2, 'two packs of 900 KiB fit in a 2 MiB plan, not thirty');
    assert.equal(refused, 28);
    const account = await storeOf(server, attacker.state.accountId);
    assert.ok((await account.store.usage()).totalPackBytes <= 2 * MiB);

    // Even committed, the copies are garbage: gc rewrites their packs without them.
    await attacker.vault.repo.commitSnapshot({
      id: x.id,
      time: new Date().toISOString(),
      sources: [{ id: 'aa', tree: x.id, logicalSize: 1, refs: [x.id, ...accepted.map((b) => b.id)] }],
    });
    server.clock.advance(DEFAULT_SERVER_GRACE_MS + 60_000);
    await account.collectGarbage();
    assert.ok((await account.store.usage()).totalPackBytes < 10 * KiB);
    assert.equal((await account.store.usage()).referencedBlobs, 3);
    const honest = packOf([blob(500 * KiB)]);
    assert.equal((await upload(server, attacker, honest)).status, 200, 'an honest upload fits again');
  });
});

describe('quota attacks (issue 11 #2)', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ gcEveryMs: 200 });
  });
  after(() => server.close());

  it('counts uploads never committed until the scheduled gc collects them, not only after a delete', async () => {
    const attacker = await newAccount(server, 'uncommitted@example.com');
    await setQuota(server, attacker.state.accountId, 3 * MiB);
    const { store } = await storeOf(server, attacker.state.accountId);
    // A write session protects uploads from gc while it lives, however long the backup takes.
    const client = clientOf(attacker.state);
    const { sessionId } = await client.call(api.beginWrite, {});
    for (let round = 0; round < 2; round++) {
      assert.equal((await upload(server, attacker, packOf([blob(MiB)]))).status, 200);
      for (let minute = 0; minute < 16; minute += 5) {
        server.clock.advance(5 * 60_000);
        await client.call(api.heartbeatWrite, { params: { sessionId } });
      }
    }
    const third = await upload(server, attacker, packOf([blob(MiB)]));
    assert.equal(third.status, 507, 'uploads older than the grace still count');
    // The schedule runs on its own (due every 200 ms of the server's clock here): no delete, no call.
    server.clock.advance(1000);
    await new Promise((resolve) => setTimeout(resolve, 600));
    assert.equal((await store.usage()).packs, 2, 'the live session keeps its uploads');

    await client.call(api.releaseWrite, { params: { sessionId } });
    await until('the uncommitted uploads are collected', async () => {
      server.clock.advance(1000);
      return (await store.usage()).packs === 0;
    });
    assert.equal((await upload(server, attacker, packOf([blob(MiB)]))).status, 200);
  });
});

describe('bounded server memory (issue 11 #5)', () => {
  let server: TestServer;
  let device: TestDevice;
  before(async () => {
    server = await startTestServer();
    device = await newAccount(server, 'memory@example.com');
    await setQuota(server, device.state.accountId, 1 << 30);
  });
  after(() => server.close());

  it('answers a read of three 20 MiB blobs one blob at a time, streamed, not 60 MiB at once', async () => {
    const blobs = [blob(20 * MiB), blob(20 * MiB), blob(20 * MiB)];
    for (const b of blobs) assert.equal((await upload(server, device, packOf([b]))).status, 200);
    const answer = await fetch(`${server.url}${api.readBlobs.url}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${device.state.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ids: blobs.map((b) => b.id) }),
    });
    assert.equal(answer.status, 200);
    assert.equal(answer.headers.get('content-length'), null, 'streamed as it is read');
    const framed = Buffer.from(await answer.arrayBuffer());
    assert.equal(api.unframeBlobs(framed).size, 1);
    assert.ok(framed.length < 21 * MiB, `${framed.length} bytes in one answer`);
    const all = await device.vault.repo.readBlobs(blobs.map((b) => b.id));
    assert.deepEqual(
      [...all.values()].map((r) => r.ok && r.bytes.length),
      blobs.map((b) => b.size),
    );
  });

  it('refuses a commit body over MAX_COMMIT_BYTES with 413, and the client never sends one', async () => {
    const tree = randomBytes(32).toString('hex');
    const refs = Buffer.alloc(api.MAX_COMMIT_BYTES * 0.75 + 3).toString('base64');
    const huge = await request(server.url, 'POST', api.commitSnapshot.url, {
      token: device.state.token,
      json: { id: tree, time: new Date().toISOString(), sources: [{ id: 'aa', tree, logicalSize: 0, refs }] },
    });
    assert.equal(huge.status, 413);
    assert.equal(huge.body.error.code, 'too_large');
    const ids = Array.from({ length: (api.MAX_COMMIT_BYTES / 40) | 0 }, (_, i) =>
      i.toString(16).padStart(64, '0'),
    );
    await rejectsWith(
      device.vault.repo.commitSnapshot({
        id: tree,
        time: new Date().toISOString(),
        sources: [{ id: 'aa', tree, logicalSize: 0, refs: ids }],
      }),
      'too_large',
    );
  });
});
