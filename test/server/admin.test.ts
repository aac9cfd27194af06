/** The admin API: users, plans, incidents, releases and the audit log, for admin sessions only. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as account from '../../src/api/account.ts';
import * as admin from '../../src/api/admin.ts';
import * as auth from '../../src/api/auth.ts';
import * as devices from '../../src/api/devices.ts';
import { derivePasswordKeys, newKdfParams } from '../../src/client/account-keys.ts';
import { signIn } from '../../src/client/sign-in.ts';
import { TEST_KDF } from '../../src/core/keys.ts';
import {
  approvedDevice,
  clientOf,
  createAccount,
  device,
  firstDevice,
  rejectsWith,
  startTestServer,
  type TestServer,
} from './helpers.ts';

describe('admin', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  it('manages users, plans, incidents and releases, and keeps an audit log of security events', async () => {
    await createAccount(server, 'root@example.com', 'admin pw', { role: 'admin' });
    const adminDevice = (await firstDevice(server, 'root@example.com', 'admin pw')).state;
    const asAdmin = clientOf(adminDevice);

    const kdf = newKdfParams(TEST_KDF);
    const { authKey } = await derivePasswordKeys('user pw', kdf);
    const created = await asAdmin.call(admin.createUser, {
      body: { email: 'Ida@Example.com', kdf, authKey },
    });
    assert.deepEqual(
      [created.email, created.role, created.planId, created.disabled],
      ['ida@example.com', 'user', 'free', false],
    );
    await rejectsWith(
      asAdmin.call(admin.createUser, { body: { email: 'ida@example.com', kdf, authKey } }),
      'conflict',
    );

    const ida = (await firstDevice(server, 'ida@example.com', 'user pw')).state;
    const idaPhone = await approvedDevice(server, ida, 'user pw', 'ida phone');
    await rejectsWith(clientOf(ida).call(admin.listUsers, {}), 'forbidden');
    await clientOf(ida).call(devices.removeDevice, { params: { deviceId: idaPhone.deviceId }, query: {} });

    const { users } = await asAdmin.call(admin.listUsers, {});
    assert.deepEqual(
      users.map((u) => [u.email, u.role, u.devices]),
      [
        ['ida@example.com', 'user', 1],
        ['root@example.com', 'admin', 1],
      ],
    );

    const disabled = await asAdmin.call(admin.disableUser, { params: { accountId: ida.accountId } });
    assert.equal(disabled.disabled, true);
    await rejectsWith(clientOf(ida).call(account.getAccount, {}), 'unauthorized');
    await rejectsWith(
      signIn({ serverUrl: server.url, email: 'ida@example.com', password: 'user pw', device: device('x') }),
      'forbidden',
      /disabled/,
    );
    await asAdmin.call(admin.enableUser, { params: { accountId: ida.accountId } });
    const again = await signIn({
      serverUrl: server.url,
      email: 'ida@example.com',
      password: 'user pw',
      device: device('x'),
    });
    assert.ok(!('state' in again), 'signed out by the disable: the account needs approval again');

    await asAdmin.call(admin.putPlan, {
      params: { planId: 'tiny' },
      body: { name: 'Tiny', quotaBytes: 1_000_000, offered: true, isDefault: true },
    });
    const plans = (await asAdmin.call(admin.listAllPlans, {})).plans;
    assert.deepEqual(
      plans.filter((p) => p.isDefault).map((p) => p.id),
      ['tiny'],
      'one default plan',
    );
    assert.equal(
      (
        await asAdmin.call(admin.setUserPlan, {
          params: { accountId: ida.accountId },
          body: { planId: '2tb' },
        })
      ).planId,
      '2tb',
    );
    await rejectsWith(
      asAdmin.call(admin.setUserPlan, { params: { accountId: ida.accountId }, body: { planId: 'nope' } }),
      'not_found',
    );
    await rejectsWith(
      asAdmin.call(admin.disableUser, { params: { accountId: 'f'.repeat(32) } }),
      'not_found',
    );

    const incident = await asAdmin.call(admin.declareIncident, {
      body: { title: 'Slow restores', severity: 'minor', components: ['restore_downloads'] },
    });
    assert.equal(
      (await asAdmin.call(admin.resolveIncident, { params: { incidentId: incident.id } })).resolvedAt !==
        null,
      true,
    );
    assert.equal((await asAdmin.call(admin.listIncidents, {})).incidents.length, 1);
    await asAdmin.call(admin.publishRelease, {
      body: { version: '0.2.0', notes: 'n', minimumVersion: '0.1.0' },
    });
    assert.deepEqual(
      (await asAdmin.call(admin.listReleases, {})).releases.map((r) => r.version),
      ['0.2.0'],
    );

    const { events } = await asAdmin.call(admin.listAudit, { query: { accountId: ida.accountId } });
    const names = events.map((e) => e.event).reverse();
    for (const expected of [
      'account_created',
      'signed_in',
      'keys_created',
      'sign_in_pending',
      'device_removed',
      'account_disabled',
      'account_enabled',
      'plan_changed',
    ]) {
      assert.ok(names.includes(expected as never), `audit has ${expected}: ${names.join(', ')}`);
    }
    const signedIn = events.filter((e) => e.event === 'signed_in').map((e) => e.details.method);
    assert.deepEqual(signedIn.reverse(), ['password', 'code']);
    const page = await asAdmin.call(admin.listAudit, { query: { limit: 2 } });
    const next = await asAdmin.call(admin.listAudit, { query: { limit: 2, before: page.events[1].id } });
    assert.ok(
      next.events.every((e) => e.id < page.events[1].id),
      'pages go back in time',
    );
    await rejectsWith(asAdmin.call(auth.denyApproval, { params: { signInId: 'a'.repeat(32) } }), 'not_found');
  });
});
