/**
 * Quotas through real HTTP: an upload or commit over the plan is refused with 507 and the
 * numbers, nothing partial is left, and two devices racing for the last bytes cannot both
 * win. Usage warnings are recorded as commits fill the plan.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as plans from '../../src/api/plans.ts';
import type { CumulusError } from '../../src/core/errors.ts';
import { clientOf, rejectsMatching, request, startTestServer, type TestServer } from './helpers.ts';
import {
  backUp,
  newAccount,
  onePack,
  randomTree,
  secondDevice,
  setQuota,
  storeOf,
  type TestDevice,
} from './repository-helpers.ts';

describe('quota', () => {
  let server: TestServer;
  let laptop: TestDevice;
  before(async () => {
    server = await startTestServer();
    laptop = await newAccount(server, 'quota@example.com');
  });
  after(() => server.close());

  it('refuses a backup that does not fit with 507, the numbers, and nothing partial', async () => {
    await setQuota(server, laptop.state.accountId, 500_000);
    const tree = await randomTree(3, 400_000, 7);
    await rejectsMatching(backUp(laptop, [tree]), (error) => {
      assert.equal(error.code, 'quota_exceeded');
      assert.equal(error.details?.httpStatus, 507);
      assert.equal(error.details?.quota, 500_000);
      assert.equal(typeof error.details?.usage, 'number');
      assert.ok((error.details?.shortfall as number) > 0);
    });
    assert.equal((await laptop.vault.repo.listSnapshots()).length, 0);
    const usage = await laptop.vault.repo.usage();
    assert.equal(usage.referencedBytes, 0);
    assert.ok(usage.totalPackBytes <= 500_000, `only what fitted was written (${usage.totalPackBytes})`);
  });

  it('answers a raw upload over quota with HTTP 507 JSON naming usage, quota and shortfall', async () => {
    await setQuota(server, laptop.state.accountId, 1000);
    const pack = onePack(5000);
    const response = await request(server.url, 'PUT', `/api/repo/packs/${pack.id}`, {
      token: laptop.state.token,
      body: pack.bytes as unknown as string,
      headers: { 'content-type': 'application/octet-stream' },
    });
    assert.equal(response.status, 507);
    assert.equal(response.body.error.code, 'quota_exceeded');
    assert.deepEqual(Object.keys(response.body.error.details).sort(), [
      'needed',
      'quota',
      'shortfall',
      'usage',
    ]);
    assert.equal(response.body.error.details.quota, 1000);
    assert.equal(await (await storeOf(server, laptop.state.accountId)).store.hasPack(pack.id), false);
  });

  it('lets only one of two devices racing for the last bytes commit', async () => {
    const racer = await newAccount(server, 'race@example.com', 'one');
    const other = await secondDevice(server, racer.state, 'two');
    await setQuota(server, racer.state.accountId, 10_000_000);
    const packs = [onePack(300_000), onePack(300_000)];
    const devices = [racer, other];
    for (const [i, pack] of packs.entries()) await devices[i].vault.repo.putPack(pack.bytes, pack.id);
    // Room for one snapshot, not both.
    const blobBytes = packs[0].entries[0].length;
    await setQuota(server, racer.state.accountId, blobBytes + 1000);
    const results = await Promise.allSettled(
      devices.map((device, i) =>
        device.vault.repo.commitSnapshot({
          id: packs[i].blobId,
          time: new Date().toISOString(),
          sources: [{ id: 'aa', tree: packs[i].blobId, logicalSize: 1, refs: [packs[i].blobId] }],
        }),
      ),
    );
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r) => r.status === 'rejected');
    assert.equal(won.length, 1, 'exactly one commit wins');
    assert.equal(lost.length, 1);
    const reason = (lost[0] as PromiseRejectedResult).reason as CumulusError;
    assert.equal(reason.code, 'quota_exceeded');
    assert.equal((await racer.vault.repo.listSnapshots()).length, 1);
    assert.equal((await racer.vault.repo.usage()).referencedBytes, blobBytes);
  });

  it('records the 80/90/100% warnings as commits fill the plan', async () => {
    const filler = await newAccount(server, 'warn@example.com');
    const pack = onePack(90_000);
    await setQuota(server, filler.state.accountId, 1_000_000);
    await filler.vault.repo.putPack(pack.bytes, pack.id);
    await setQuota(server, filler.state.accountId, Math.ceil(pack.entries[0].length / 0.95));
    await filler.vault.repo.commitSnapshot({
      id: pack.blobId,
      time: new Date().toISOString(),
      sources: [{ id: 'bb', tree: pack.blobId, logicalSize: 1, refs: [] }],
    });
    const status = await clientOf(filler.state).call(plans.getPlan, {});
    assert.equal(status.warningLevel, 90);
    assert.equal(status.warnings[0].level, 90);
  });
});
