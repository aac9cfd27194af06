/**
 * Plans and releases through the real HTTP API: self-service plan change with a downgrade
 * below usage refused, usage warnings at 80/90/100%, the update channel and the 426 an
 * outdated agent gets on backup routes. Usage comes from a fake of the per-account
 * repository seam.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as devices from '../../src/api/devices.ts';
import * as plans from '../../src/api/plans.ts';
import * as releases from '../../src/api/releases.ts';
import { AccountClient } from '../../src/client/account-client.ts';
import {
  type AccountRepository,
  PendingAccountRepositories,
} from '../../src/server/services/account-repositories.ts';
import { LOCAL_ADMIN } from '../../src/server/services/caller.ts';
import {
  clientOf,
  createAccount,
  firstDevice,
  rejectsMatching,
  rejectsWith,
  request,
  startTestServer,
  type TestServer,
} from './helpers.ts';

const GB = 1000 ** 3;

/** UsageRepositories reports whatever usage a test sets per account, and records device deletions. */
class UsageRepositories extends PendingAccountRepositories {
  readonly used = new Map<string, number>();
  readonly deletedDevices: string[] = [];
  override async forAccount(accountId: string): Promise<AccountRepository> {
    return {
      usedBytes: async () => this.used.get(accountId) ?? 0,
      deleteDeviceBackups: async (deviceId) => void this.deletedDevices.push(deviceId),
    };
  }
}

describe('plans', () => {
  let server: TestServer;
  const repositories = new UsageRepositories('/nonexistent');
  before(async () => {
    server = await startTestServer({ repositories });
  });
  after(() => server.close());

  it('makes the default plans, offers Free alone and starts accounts on it', async () => {
    const { body } = await request(server.url, 'GET', '/api/plans');
    assert.deepEqual(
      body.plans.map((p: plans.Plan) => [p.name, p.quotaBytes]),
      [['Free', 5 * GB]],
    );
    assert.deepEqual(
      (await server.services.plans.list({ offeredOnly: false })).map((p) => [
        p.name,
        p.quotaBytes,
        p.offered,
      ]),
      [
        ['Free', 5 * GB, true],
        ['50 GB', 50 * GB, false],
        ['200 GB', 200 * GB, false],
        ['2 TB', 2000 * GB, false],
      ],
    );
    const accountId = await createAccount(server, 'pam@example.com', 'pw');
    const state = (await firstDevice(server, 'pam@example.com', 'pw')).state;
    const status = await clientOf(state).call(plans.getPlan, {});
    assert.equal(status.plan.id, 'free');
    assert.equal(accountId, state.accountId);
  });

  it('upgrades, and refuses a downgrade below current usage with the reason', async () => {
    const accountId = await createAccount(server, 'ray@example.com', 'pw');
    const client = clientOf((await firstDevice(server, 'ray@example.com', 'pw')).state);
    repositories.used.set(accountId, 7 * GB);
    await rejectsWith(client.call(plans.changePlan, { body: { planId: '50gb' } }), 'not_found');
    await server.services.plans.put(LOCAL_ADMIN, '50gb', {
      name: '50 GB',
      quotaBytes: 50 * GB,
      offered: true,
    });
    assert.equal((await client.call(plans.changePlan, { body: { planId: '50gb' } })).plan.id, '50gb');
    await rejectsMatching(client.call(plans.changePlan, { body: { planId: 'free' } }), (error) => {
      assert.equal(error.code, 'conflict');
      assert.match(error.message, /Free plan holds 5 GB but this account uses 7 GB/);
      assert.match(error.hint ?? '', /free at least 2 GB/);
      assert.deepEqual(
        [error.details?.usedBytes, error.details?.quotaBytes, error.details?.shortfallBytes],
        [7 * GB, 5 * GB, 2 * GB],
      );
    });
    assert.equal((await client.call(plans.getPlan, {})).plan.id, '50gb', 'the plan did not change');
    await rejectsWith(client.call(plans.changePlan, { body: { planId: 'gold' } }), 'not_found');
  });

  it('on a new server only Free is self-service: a user cannot choose 2 TB', async () => {
    await createAccount(server, 'tb@example.com', 'pw');
    const state = (await firstDevice(server, 'tb@example.com', 'pw')).state;
    const client = clientOf(state);
    const answer = await request(server.url, 'PUT', '/api/account/plan', {
      token: state.token,
      json: { planId: '2tb' },
    });
    assert.equal(answer.status, 404);
    assert.deepEqual(
      (await client.call(plans.listPlans, {})).plans.map((p) => p.id).filter((id) => id !== '50gb'),
      ['free'], // 50gb: offered by the admin in the test before
    );
  });

  it('a plan the admin does not offer cannot be chosen by users, but the admin can assign it', async () => {
    const accountId = await createAccount(server, 'sam@example.com', 'pw');
    const client = clientOf((await firstDevice(server, 'sam@example.com', 'pw')).state);
    await server.services.plans.put(LOCAL_ADMIN, 'family', {
      name: 'Family',
      quotaBytes: 500 * GB,
      offered: false,
    });
    await rejectsWith(client.call(plans.changePlan, { body: { planId: 'family' } }), 'not_found');
    await server.services.admin.setPlan(LOCAL_ADMIN, accountId, 'family');
    assert.equal((await client.call(plans.getPlan, {})).plan.name, 'Family');
  });

  it('records a warning each time usage climbs past 80, 90 and 100%, and again after falling back', async () => {
    const accountId = await createAccount(server, 'tia@example.com', 'pw');
    const client = clientOf((await firstDevice(server, 'tia@example.com', 'pw')).state);
    const levels = async (usedBytes: number) => {
      repositories.used.set(accountId, usedBytes);
      const status = await client.call(plans.getPlan, {});
      return [status.warningLevel, status.warnings.map((w) => w.level)];
    };
    assert.deepEqual(await levels(3 * GB), [0, []]);
    assert.deepEqual(await levels(4.1 * GB), [80, [80]]);
    assert.deepEqual(await levels(4.2 * GB), [80, [80]], 'no second warning at the same level');
    assert.deepEqual(await levels(4.6 * GB), [90, [90, 80]]);
    assert.deepEqual(await levels(5 * GB), [100, [100, 90, 80]]);
    assert.deepEqual(await levels(1 * GB), [0, [100, 90, 80]]);
    assert.deepEqual(await levels(4.5 * GB), [90, [90, 100, 90, 80]]);
  });

  it('deleting a device with its backups goes through the repository seam', async () => {
    await createAccount(server, 'uli@example.com', 'pw');
    const state = (await firstDevice(server, 'uli@example.com', 'pw')).state;
    await clientOf(state).call(devices.removeDevice, {
      params: { deviceId: state.deviceId },
      query: { deleteBackups: true },
    });
    assert.ok(repositories.deletedDevices.includes(state.deviceId));
  });
});

describe('releases', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  it('publishes versions; agents learn the latest and whether they must update; old agents get 426 on backup routes', async () => {
    await createAccount(server, 'vera@example.com', 'pw');
    const state = (await firstDevice(server, 'vera@example.com', 'pw')).state;
    const report = { body: { attemptAt: new Date().toISOString(), outcome: 'success' as const } };
    const agent = (version: string) =>
      new AccountClient({ serverUrl: server.url, token: state.token, agentVersion: version });

    assert.deepEqual(await agent('1.0.0').call(releases.latestRelease, {}), {
      latest: null,
      updateAvailable: false,
      updateRequired: false,
    });
    await agent('1.0.0').call(devices.reportBackup, report);

    await server.services.releases.publish(LOCAL_ADMIN, {
      version: '1.2.0',
      notes: 'faster uploads',
      minimumVersion: '1.1.0',
    });
    await server.services.releases.publish(LOCAL_ADMIN, {
      version: '1.10.0-beta.1',
      notes: 'beta',
      minimumVersion: '1.1.0',
    });
    const latest = await agent('1.0.0').call(releases.latestRelease, {});
    assert.equal(latest.latest?.version, '1.10.0-beta.1', 'versions compare numerically, not as text');
    assert.deepEqual([latest.updateAvailable, latest.updateRequired], [true, true]);

    const refused = await request(server.url, 'POST', '/api/device/report', {
      token: state.token,
      json: report.body,
      headers: { 'x-cumulus-agent-version': '1.0.9' },
    });
    assert.equal(refused.status, 426);
    assert.equal(refused.body.error.code, 'update_required');
    assert.match(refused.body.error.message, /1\.0\.9.*1\.1\.0 or newer/);
    assert.match(refused.body.error.hint, /cumulus update/);
    assert.deepEqual(refused.body.error.details, {
      agentVersion: '1.0.9',
      minimumVersion: '1.1.0',
      latestVersion: '1.10.0-beta.1',
    });

    await agent('1.1.0').call(devices.reportBackup, report);
    await request(server.url, 'POST', '/api/device/report', { token: state.token, json: report.body }).then(
      (r) => assert.equal(r.status, 200, 'no version header: the console'),
    );
    await agent('1.0.9').call(devices.listDevices, {}); // not a backup route: still served
    await rejectsWith(
      server.services.releases.publish(LOCAL_ADMIN, { version: '1.2.0', notes: '', minimumVersion: '1.0.0' }),
      'conflict',
    );
    await rejectsWith(
      server.services.releases.publish(LOCAL_ADMIN, { version: '2.0.0', notes: '', minimumVersion: '3.0.0' }),
      'invalid_input',
    );
  });
});
