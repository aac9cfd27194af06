/** The admin API: users, plans, incidents, releases and the audit log, for admin sessions only. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as account from '../../src/api/account.ts';
import * as admin from '../../src/api/admin.ts';
import * as auth from '../../src/api/auth.ts';
import * as devices from '../../src/api/devices.ts';
import { derivePasswordKeys, newKdfParams } from '../../src/client/account-keys.ts';
import { acceptInvite, signIn } from '../../src/client/sign-in.ts';
import { TEST_KDF } from '../../src/core/keys.ts';
import { LOCAL_ADMIN } from '../../src/server/services/caller.ts';
import { INVITE_TTL_MS } from '../../src/server/services/invites.ts';
import {
  approvedDevice,
  clientOf,
  createAccount,
  device,
  firstDevice,
  rejectsWith,
  request,
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

    const invite = await asAdmin.call(admin.createInvite, { body: { email: 'Ida@Example.com' } });
    assert.deepEqual([invite.email, invite.role, invite.planId], ['ida@example.com', 'user', 'free']);
    const accept = (token: string, email: string, password = 'user pw') =>
      acceptInvite({ serverUrl: server.url, inviteToken: token, email, password, kdfCost: TEST_KDF });
    await rejectsWith(accept(invite.token, 'eve@example.com'), 'unauthorized');
    await accept(invite.token, 'ida@example.com');
    await rejectsWith(accept(invite.token, 'ida@example.com', 'taken over'), 'unauthorized', /used/);
    await rejectsWith(asAdmin.call(admin.createInvite, { body: { email: 'ida@example.com' } }), 'conflict');

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

describe('invites: the admin never learns a new user’s password', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  it('an admin cannot create an account with a password of their choosing, only invite one', async () => {
    await createAccount(server, 'boss@example.com', 'admin pw', { role: 'admin' });
    const { token } = (await firstDevice(server, 'boss@example.com', 'admin pw')).state;
    const kdf = newKdfParams(TEST_KDF);
    const { authKey } = await derivePasswordKeys('the admin knows this', kdf);
    const created = await request(server.url, 'POST', '/api/admin/users', {
      token,
      json: { email: 'jo@example.com', kdf, authKey },
    });
    assert.equal(created.status, 404, 'the route that took an admin-chosen password is gone');
    const login = await request(server.url, 'POST', '/api/auth/prelogin', {
      json: { email: 'jo@example.com' },
    });
    assert.equal(login.status, 200);
    await rejectsWith(
      signIn({
        serverUrl: server.url,
        email: 'jo@example.com',
        password: 'the admin knows this',
        device: device('x'),
      }),
      'wrong_password',
    );
  });

  it('an invite expires after 7 days, and a newer one for the same email replaces it', async () => {
    const older = await server.services.invites.create(LOCAL_ADMIN, { email: 'kim@example.com' });
    const newer = await server.services.invites.create(LOCAL_ADMIN, { email: 'kim@example.com' });
    const accept = (token: string) =>
      acceptInvite({
        serverUrl: server.url,
        inviteToken: token,
        email: 'kim@example.com',
        password: 'kim pw',
        kdfCost: TEST_KDF,
      });
    await rejectsWith(accept(older.token), 'unauthorized');
    server.clock.advance(INVITE_TTL_MS);
    await rejectsWith(accept(newer.token), 'unauthorized', /expired/);
    const fresh = await server.services.invites.create(LOCAL_ADMIN, { email: 'kim@example.com' });
    await accept(fresh.token);
    const kim = await firstDevice(server, 'kim@example.com', 'kim pw');
    assert.ok(
      kim.recoveryKey,
      'the invited user signs in first, with their own password, and makes the keys',
    );
  });

  it('updates an open incident (the status page shows it), refuses an empty change, an end before the start or a resolved one', async () => {
    await createAccount(server, 'ops@example.com', 'ops pw', { role: 'admin' });
    const ops = (await firstDevice(server, 'ops@example.com', 'ops pw')).state;
    const asAdmin = clientOf(ops);
    const declared = await asAdmin.call(admin.declareIncident, {
      body: { title: 'Slow uploads', components: ['backup_uploads'], severity: 'minor' },
    });
    const params = { incidentId: declared.id };
    const updated = await asAdmin.call(admin.updateIncident, {
      params,
      body: {
        message: 'The disk is being replaced.',
        severity: 'major',
        components: ['backup_uploads', 'database'],
      },
    });
    assert.deepEqual(
      [updated.title, updated.message, updated.severity, updated.components],
      ['Slow uploads', 'The disk is being replaced.', 'major', ['backup_uploads', 'database']],
    );
    const shown = await request(server.url, 'GET', '/api/status');
    const active = (shown.body.active as { id: string; message: string }[]).find((i) => i.id === declared.id);
    assert.equal(active?.message, 'The disk is being replaced.');
    const empty = await request(server.url, 'PATCH', `/api/admin/incidents/${declared.id}`, {
      token: ops.token,
      json: {},
    });
    assert.equal(empty.status, 400, JSON.stringify(empty.body));
    await rejectsWith(
      asAdmin.call(admin.updateIncident, { params, body: { endsAt: '2000-01-01T00:00:00.000Z' } }),
      'invalid_input',
      /end after it starts/,
    );
    await asAdmin.call(admin.resolveIncident, { params });
    await rejectsWith(asAdmin.call(admin.updateIncident, { params, body: { title: 'later' } }), 'conflict');
    assert.equal(
      (await asAdmin.call(admin.listIncidents, {})).incidents.find((i) => i.id === declared.id)?.title,
      'Slow uploads',
    );
  });

  it('reports server health: the database size, free space where packs live, the maintenance jobs', async () => {
    await createAccount(server, 'health@example.com', 'pw', { role: 'admin' });
    const asAdmin = clientOf((await firstDevice(server, 'health@example.com', 'pw')).state);
    const health = await asAdmin.call(admin.getServerHealth, {});
    assert.equal(health.database.kind, 'sqlite');
    assert.ok(health.database.sizeBytes > 0);
    assert.ok(health.blobStorage.freeBytes !== null && health.blobStorage.totalBytes !== null);
    assert.ok(health.blobStorage.freeBytes <= health.blobStorage.totalBytes);
    assert.ok(
      health.maintenance.some((job) => job.name === 'gc'),
      JSON.stringify(health.maintenance),
    );
  });
});
