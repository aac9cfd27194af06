/**
 * Default retention on a fake clock, through the server's own repository service and the
 * real store (small synthetic blobs keep a year fast): a year of daily backups of a
 * changing tree stays within the stated bound and never fills a plan of that size, while
 * keeping every snapshot would overflow it; pinned snapshots survive; a device set to
 * "off" keeps everything; and thinning does not hold up the commit.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { encodeIds } from '../../src/api/repository.ts';
import { DEFAULT_POLICY, keptBound } from '../../src/core/tiered-retention.ts';
import type { Caller } from '../../src/server/services/caller.ts';
import { RepositoryService } from '../../src/server/services/repository.ts';
import { makePack, type TestBlob } from '../../src/store/testing.ts';
import { startTestServer, type TestServer } from './helpers.ts';
import { newAccount, setQuota, storeOf } from './repository-helpers.ts';

const KiB = 1024;
const DAY = 86_400_000;
/** The tree: cold files that never change, hot files rewritten every day, and a folder of recent downloads. */
const COLD = { files: 100, size: 4 * KiB };
const HOT = { files: 25, size: 4 * KiB };
const ROLLING = { perDay: 1, size: 4 * KiB, days: 14 };
/** Bytes of one snapshot blob (the encrypted description). */
const SNAPSHOT_BLOB = 64;

/**
 * THE BOUND: one backup a day, so at most 2 snapshots are younger than 48 hours and the
 * policy keeps at most K = keptBound(DEFAULT_POLICY, 2) snapshots. Each kept snapshot adds
 * at most its hot files and its rolling folder to the cold files, so the account stores at
 * most cold + K × (hot + rolling window + snapshot blob) bytes, however long it backs up.
 */
const K = keptBound(DEFAULT_POLICY, 2);
const TREE_BYTES = COLD.files * COLD.size + HOT.files * HOT.size + ROLLING.days * ROLLING.size;
const BOUND =
  COLD.files * COLD.size + K * (HOT.files * HOT.size + ROLLING.days * ROLLING.size + SNAPSHOT_BLOB);

function callerOf(state: { accountId: string; deviceId: string }): Caller {
  return {
    accountId: state.accountId,
    deviceId: state.deviceId,
    sessionId: 'test',
    role: 'user',
    ip: '127.0.0.1',
  };
}

/** commitDay uploads the day's new blobs and commits a snapshot of `refs` at the server's time now. */
async function commitDay(
  repo: RepositoryService,
  caller: Caller,
  time: number,
  fresh: { sizes: number[] },
  reused: readonly TestBlob[],
): Promise<{ id: string; blobs: TestBlob[] }> {
  const pack = makePack([SNAPSHOT_BLOB, ...fresh.sizes]);
  const [snapshot, ...blobs] = pack.blobs;
  await repo.uploadPack(caller, pack.id, pack.bytes);
  const refs = [...reused, ...blobs];
  await repo.commit(caller, {
    id: snapshot.id,
    time: new Date(time).toISOString(),
    sources: [
      {
        id: 'aa',
        tree: refs[0].id,
        logicalSize: refs.reduce((sum, b) => sum + b.length, 0),
        refs: encodeIds(refs.map((b) => b.id)),
      },
    ],
  });
  return { id: snapshot.id, blobs };
}

describe('default retention over a simulated year', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  it('keeps a year of daily backups within the bound, in a plan of that size, and keeps the pinned snapshot', async () => {
    // Keeping every snapshot, the year would need cold + 365 days of changes: far over the plan.
    const everything = COLD.files * COLD.size + 365 * (HOT.files * HOT.size + ROLLING.perDay * ROLLING.size);
    assert.ok(everything > 2 * BOUND, `keeping all: ${everything} B, bound ${BOUND} B`);
    assert.ok(TREE_BYTES * 10 < BOUND, 'a plan of the bound fits the data many times over');

    const device = await newAccount(server, 'year@example.com');
    await setQuota(server, device.state.accountId, BOUND);
    const repo = new RepositoryService(server.services);
    const caller = callerOf(device.state);
    const account = await storeOf(server, device.state.accountId);

    const cold = makePack(Array(COLD.files).fill(COLD.size));
    await repo.uploadPack(caller, cold.id, cold.bytes);
    let rolling: TestBlob[] = [];
    let pinned = '';
    let most = 0;
    const start = server.clock.now();
    for (let day = 0; day < 365; day++) {
      const time = start + day * DAY;
      server.clock.advance(time - server.clock.now());
      const sizes = [...Array(HOT.files).fill(HOT.size), ...Array(ROLLING.perDay).fill(ROLLING.size)];
      const { id, blobs } = await commitDay(repo, caller, time, { sizes }, [...cold.blobs, ...rolling]);
      rolling = [...rolling, ...blobs.slice(HOT.files)].slice(-ROLLING.days);
      if (day === 40) {
        await server.services.pins.pinSnapshot(caller, id);
        pinned = id;
      }
      // The commit's own pass runs in the background; this waits for it and runs one more.
      await server.services.retention.apply(caller.accountId);
      const used = await account.usedBytes();
      most = Math.max(most, used);
      assert.ok(used <= BOUND, `day ${day}: ${used} B stored, bound ${BOUND} B`);
    }
    const snapshots = await account.store.listSnapshots();
    assert.ok(snapshots.length <= K + 1, `${snapshots.length} snapshots kept (K ${K}, plus the pin)`);
    assert.ok(snapshots.length > 60, `${snapshots.length} snapshots: dailies, weeklies and monthlies`);
    assert.ok(
      snapshots.some((s) => s.id === pinned),
      'the pinned snapshot of day 40 is kept',
    );
    // The space is given back, not only uncounted: packs of removed snapshots are gone.
    server.clock.advance(DAY);
    await account.collectGarbage();
    const usage = await account.store.usage();
    assert.ok(usage.totalPackBytes <= BOUND * 1.1, `${usage.totalPackBytes} B of packs`);
    // At this rate the plan never fills: retention frees the churn as fast as it comes.
    const forecast = await server.services.forecast.forecast(caller.accountId);
    assert.equal(forecast.daysUntilFull, null, JSON.stringify(forecast));
    assert.equal(forecast.warning, false);
    process.stdout.write(
      `# a year: ${snapshots.length} snapshots kept, ${most} B stored at most (bound ${BOUND} B, all kept ${everything} B)\n`,
    );
  });

  it('forecasts when growing data fills the plan, and warns under 14 days', async () => {
    const device = await newAccount(server, 'growing@example.com');
    const repo = new RepositoryService(server.services);
    const caller = callerOf(device.state);
    const start = server.clock.now();
    let kept: TestBlob[] = [];
    for (let day = 0; day < 6; day++) {
      server.clock.advance(start + day * DAY - server.clock.now());
      kept = [
        ...kept,
        ...(await commitDay(repo, caller, server.clock.now(), { sizes: [100 * KiB] }, kept)).blobs,
      ];
    }
    const used = await (await storeOf(server, caller.accountId)).usedBytes();
    await setQuota(server, caller.accountId, used + 1000 * KiB);
    const forecast = await server.services.forecast.forecast(caller.accountId);
    assert.equal(forecast.enoughHistory, true);
    assert.ok(
      forecast.daysUntilFull !== null && forecast.daysUntilFull >= 9 && forecast.daysUntilFull <= 11,
      JSON.stringify(forecast),
    );
    assert.equal(forecast.warning, true);
    assert.ok(
      Math.abs(forecast.growthBytesPerDay - 100 * KiB) < 2 * KiB,
      `${forecast.growthBytesPerDay} B a day`,
    );
  });

  it('keeps every snapshot of a device set to off, and thins again when set back to the default', async () => {
    const device = await newAccount(server, 'off@example.com');
    const repo = new RepositoryService(server.services);
    const caller = callerOf(device.state);
    await server.services.retention.set(caller, { deviceId: caller.deviceId, policy: 'off' });
    const start = server.clock.now();
    for (let day = 0; day < 10; day++) {
      server.clock.advance(start + day * DAY - server.clock.now());
      for (const hour of [1, 2, 3])
        await commitDay(repo, caller, start + day * DAY + hour * 60_000, { sizes: [100] }, []);
    }
    await server.services.retention.apply(caller.accountId);
    const account = await storeOf(server, caller.accountId);
    assert.equal((await account.store.listSnapshots()).length, 30);
    server.clock.advance(start + 9 * DAY + 3_600_000 - server.clock.now());
    const settings = await server.services.retention.set(caller, {
      deviceId: caller.deviceId,
      policy: 'default',
    });
    assert.deepEqual(settings.devices, []);
    await server.services.retention.apply(caller.accountId);
    // The last 48 hours' six (days 8 and 9), then one a day for days 0 to 7.
    assert.equal((await account.store.listSnapshots()).length, 6 + 8);
  });

  it("refuses a policy outside its limits and another account's device, and changes nothing", async () => {
    const device = await newAccount(server, 'limits@example.com');
    const other = await newAccount(server, 'other-limits@example.com');
    const caller = callerOf(device.state);
    await assert.rejects(
      server.services.retention.set(caller, { policy: { ...DEFAULT_POLICY, dailyDays: 1e9 } }),
      { code: 'invalid_input' },
    );
    await assert.rejects(
      server.services.retention.set(caller, { deviceId: other.state.deviceId, policy: 'off' }),
      {
        code: 'not_found',
      },
    );
    const settings = await server.services.retention.settings(caller);
    assert.deepEqual(settings, { account: DEFAULT_POLICY, accountIsServerDefault: true, devices: [] });
  });
});
