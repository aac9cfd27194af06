/**
 * A sweep over the whole route table (every endpoint exported by src/api), so a new route
 * cannot forget its checks: every route is registered; without a token each non-public one
 * answers 401; with a user's token each admin one 403; with another account's IDs each
 * route that takes an account's ID answers 404 and changes nothing; and a random JSON body
 * on any route is a 4xx, never a 500.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import * as account from '../../src/api/account.ts';
import * as admin from '../../src/api/admin.ts';
import * as auth from '../../src/api/auth.ts';
import * as devices from '../../src/api/devices.ts';
import type { Endpoint } from '../../src/api/endpoint.ts';
import * as lifecycle from '../../src/api/lifecycle.ts';
import * as notifications from '../../src/api/notifications.ts';
import * as plans from '../../src/api/plans.ts';
import * as releases from '../../src/api/releases.ts';
import * as repository from '../../src/api/repository.ts';
import * as status from '../../src/api/status.ts';
import type { DeviceState } from '../../src/client/device-state.ts';
import { openRemoteVault } from '../../src/client/remote-vault.ts';
import { sealForOwner } from '../../src/client/sealed-report.ts';
import {
  clientOf,
  createAccount,
  firstDevice,
  type Json,
  pendingSignIn,
  request,
  startTestServer,
  type TestServer,
} from './helpers.ts';
import { commitBlobs } from './lifecycle-helpers.ts';

const ENDPOINTS: Endpoint[] = [
  account,
  admin,
  auth,
  devices,
  lifecycle,
  notifications,
  plans,
  releases,
  repository,
  status,
].flatMap((module) =>
  Object.values(module).filter(
    (value): value is Endpoint =>
      typeof value === 'object' && value !== null && 'url' in value && 'method' in value && 'access' in value,
  ),
);
const name = (e: Endpoint) => `${e.method} ${e.url}`;
const RANDOM_ID = 'f'.repeat(32);

/**
 * OWNED names each path parameter that is an ID of something an account owns; NOT_OWNED
 * says why the others are not. A route with a parameter in neither fails the sweep.
 */
const NOT_OWNED: Record<string, string> = {
  packId: 'a pack ID is its content hash, within the caller’s own repository',
  accountId: 'admin routes only: an admin acts on any account',
  planId: 'admin routes only: plans are the server’s',
  incidentId: 'admin routes only: incidents are the server’s',
};
/** Routes that answer an unknown ID with success by design; the sweep checks the victim's thing lives on instead. */
const IDEMPOTENT: Record<string, string> = {
  'DELETE /api/repo/sessions/:sessionId':
    'ending a write session twice is fine: an unknown one is already ended',
};
/** Bodies for routes that take another account's ID and a body. */
const BODIES: Record<string, (victim: Victim) => Json> = {
  'PATCH /api/devices/:deviceId': () => ({ name: 'taken over' }),
  'PUT /api/devices/:deviceId/backup': () => ({ enabled: false }),
};
/** Routes that name another account's ID in their body rather than their path. */
const BODY_IDS: Record<string, (victim: Victim) => Json> = {
  'POST /api/storage/delete-device': (v) => ({ deviceId: v.deviceId, confirm: true }),
  'POST /api/storage/delete-source': (v) => ({ deviceId: v.deviceId, sourceId: 'ab', confirm: true }),
  'PUT /api/retention': (v) => ({ deviceId: v.deviceId, policy: 'off' }),
};

interface Victim {
  state: DeviceState;
  deviceId: string;
  /** Per parameter name, and for sessionId per route: the victim's IDs. */
  params: (url: string) => Record<string, string>;
}

/** pathFor fills an endpoint's path parameters. */
function pathFor(url: string, params: Record<string, string>): string {
  return url.replace(/:([A-Za-z]+)/g, (_, key: string) => params[key] ?? RANDOM_ID);
}

describe('the route table sweep', () => {
  let server: TestServer;
  let user: DeviceState;
  let adminDevice: DeviceState;
  let victim: Victim;

  before(async () => {
    server = await startTestServer();
    await createAccount(server, 'root@example.com', 'pw', { role: 'admin' });
    adminDevice = (await firstDevice(server, 'root@example.com', 'pw')).state;
    await createAccount(server, 'mallory@example.com', 'pw');
    user = (await firstDevice(server, 'mallory@example.com', 'pw')).state;
    await createAccount(server, 'victim@example.com', 'pw');
    const state = (await firstDevice(server, 'victim@example.com', 'pw')).state;
    await pendingSignIn(server, 'victim@example.com', 'pw', 'victim phone');
    const [approval] = (await clientOf(state).call(auth.listApprovals, {})).approvals;
    // A doctor result of the victim's, so its route's 404 means "not yours", not "none".
    await clientOf(state).call(devices.shareDoctorReport, { body: sealForOwner(state, { checks: [] }) });
    const write = await request(server.url, 'POST', '/api/repo/sessions', { token: state.token });
    assert.equal(write.status, 200, JSON.stringify(write.body));
    const accountSession = state.token.split('.')[0];
    const { id: snapshotId } = await commitBlobs(
      { state, vault: openRemoteVault(state) },
      server.clock.now(),
      [100],
    );
    const hook = await clientOf(state).call(notifications.addWebhook, {
      body: { url: 'https://ntfy.example.com/victim-topic', preset: 'ntfy' },
    });
    victim = {
      state,
      deviceId: state.deviceId,
      params: (url) => ({
        deviceId: state.deviceId,
        snapshotId,
        signInId: approval.id,
        sessionId: url.startsWith('/api/repo/') ? write.body.sessionId : accountSession,
        webhookId: hook.id,
      }),
    };
  });
  after(() => server.close());

  it('covers every route the server has, and every route is in the table', async () => {
    assert.ok(ENDPOINTS.length > 50, `${ENDPOINTS.length} endpoints`);
    for (const e of ENDPOINTS) assert.ok(server.app.hasRoute({ method: e.method, url: e.url }), name(e));
  });

  it('without a token, every route that is not public answers 401', async () => {
    for (const e of ENDPOINTS.filter((e) => e.access !== 'public')) {
      const answer = await request(server.url, e.method, pathFor(e.url, {}));
      assert.equal(answer.status, 401, `${name(e)} → ${JSON.stringify(answer.body)}`);
    }
  });

  it("with a user's token, every admin route answers 403", async () => {
    for (const e of ENDPOINTS.filter((e) => e.access === 'admin')) {
      const answer = await request(server.url, e.method, pathFor(e.url, {}), { token: user.token });
      assert.equal(answer.status, 403, `${name(e)} → ${JSON.stringify(answer.body)}`);
    }
  });

  it("with another account's IDs, every route answers 404 and the other account keeps everything", async () => {
    const owned = ENDPOINTS.filter((e) => e.access === 'session' && e.url.includes(':'));
    assert.ok(owned.length >= 6);
    for (const e of owned) {
      const params = victim.params(e.url);
      for (const key of e.url.match(/:[A-Za-z]+/g)!.map((k) => k.slice(1))) {
        assert.ok(
          key in params || key in NOT_OWNED,
          `${name(e)}: is :${key} an account's ID? add it to the sweep`,
        );
      }
      if (e.url.match(/:[A-Za-z]+/g)!.some((k) => k.slice(1) in NOT_OWNED)) continue;
      const body = BODIES[name(e)]?.(victim);
      assert.ok(body !== undefined || e.body === undefined, `${name(e)} takes a body: add one to BODIES`);
      const answer = await request(server.url, e.method, pathFor(e.url, params), {
        token: user.token,
        ...(body === undefined ? {} : { json: body }),
      });
      assert.equal(
        answer.status,
        name(e) in IDEMPOTENT ? 200 : 404,
        `${name(e)} → ${JSON.stringify(answer.body)}`,
      );
    }
    for (const [route, body] of Object.entries(BODY_IDS)) {
      const [method, path] = route.split(' ');
      const answer = await request(server.url, method, path, { token: user.token, json: body(victim) });
      assert.equal(answer.status, 404, `${route} → ${JSON.stringify(answer.body)}`);
    }
    const { devices: theirs } = await clientOf(victim.state).call(devices.listDevices, {});
    assert.deepEqual(
      theirs.map((d) => [d.name, d.backup, d.backupRequestedAt]),
      [['laptop', null, null]],
      'the device is neither renamed nor removed, switched nor asked to back up',
    );
    assert.equal((await clientOf(victim.state).call(auth.listApprovals, {})).approvals.length, 1);
    assert.equal((await clientOf(victim.state).call(account.listSessions, {})).sessions.length, 1);
    assert.equal(
      (await clientOf(victim.state).call(repository.listSnapshots, { query: {} })).snapshots.length,
      1,
      'the snapshot is neither forgotten nor pinned by another account',
    );
    assert.deepEqual(await clientOf(victim.state).call(lifecycle.listPins, {}), {
      snapshots: [],
      devices: [],
    });
    const { webhooks } = await clientOf(victim.state).call(notifications.getNotifications, {});
    assert.equal(webhooks.length, 1, 'the webhook is not removed');
    const heartbeat = await request(
      server.url,
      'PUT',
      pathFor('/api/repo/sessions/:sessionId', victim.params('/api/repo/')),
      {
        token: victim.state.token,
      },
    );
    assert.equal(heartbeat.status, 200, 'the write session lives on');
  });

  it('a random JSON body on any route with a body is a 4xx JSON error or a success, never a 5xx', async () => {
    const withBody = ENDPOINTS.filter((e) => e.body !== undefined);
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...withBody), fc.jsonValue(), async (e, body) => {
        const token = e.access === 'admin' ? adminDevice.token : user.token;
        const answer = await request(server.url, e.method, pathFor(e.url, { deviceId: user.deviceId }), {
          token,
          body: JSON.stringify(body),
          headers: { 'content-type': 'application/json' },
        });
        assert.ok(answer.status < 500, `${name(e)} ${JSON.stringify(body)} → ${answer.status}`);
        if (answer.status >= 400) assert.equal(typeof answer.body.error.code, 'string', 'errors are JSON');
      }),
      { numRuns: 300 },
    );
  });
});
