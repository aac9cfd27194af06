/**
 * The console's controls of a device through the real HTTP API: the backup switch (the
 * change that reaches the server last wins, the console's or the device's at its sync), Back Up Now
 * (held until the agent says it took it; refused for a signed-out or switched-off device), the next due time and the last failure as the agent reports them.
 * The troubleshooter's sealed doctor result: kept per device, latest only, for the owner's
 * devices only, bounded, and opaque (no evidence in the database or the log).
 * Another account's device is not found, and bad input is a 400 that changes nothing.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { logout } from '../../src/api/auth.ts';
import * as devices from '../../src/api/devices.ts';
import type { DeviceState } from '../../src/client/device-state.ts';
import { openFromDevice, sealForOwner } from '../../src/client/sealed-report.ts';
import {
  approvedDevice,
  clientOf,
  ownerAndStranger,
  request,
  startTestServer,
  type TestServer,
} from './helpers.ts';

const PASSWORD = 'console test password';

function sync(state: DeviceState, body: devices.DeviceSync) {
  return clientOf(state).call(devices.syncDevice, { body });
}

async function deviceOf(viewer: DeviceState, deviceId: string): Promise<devices.Device> {
  const found = (await clientOf(viewer).call(devices.listDevices, {})).devices.find((d) => d.id === deviceId);
  assert.ok(found, `device ${deviceId} is listed`);
  return found;
}

describe("the console's backup switch and Back Up Now", () => {
  let server: TestServer;
  let laptop: DeviceState;
  let phone: DeviceState;
  let stranger: DeviceState;
  const iso = (ms: number) => new Date(ms).toISOString();

  before(async () => {
    server = await startTestServer();
    ({ laptop, phone, stranger } = await ownerAndStranger(server, PASSWORD));
  });
  after(() => server.close());

  it("knows the switch once the agent syncs, and the console's newer change reaches the agent", async () => {
    const before = await deviceOf(phone, laptop.deviceId);
    assert.deepEqual(
      [before.backup, before.nextDueAt, before.agentSyncedAt, before.agentActive],
      [null, null, null, false],
    );

    const due = server.clock.now() + 3_600_000;
    const first = await sync(laptop, { backup: { enabled: true, changed: false }, nextDueAt: iso(due) });
    const syncedAt = iso(server.clock.now());
    assert.deepEqual(
      first,
      { backup: { enabled: true, changedAt: syncedAt }, backupRequest: null },
      'the first sync gives the server the switch, dated by its own clock',
    );
    const seen = await deviceOf(phone, laptop.deviceId);
    assert.deepEqual(seen.backup, { enabled: true, changedAt: syncedAt });
    assert.equal(seen.nextDueAt, iso(due));
    assert.equal(seen.agentSyncedAt, syncedAt);
    assert.equal(seen.agentActive, true);

    server.clock.advance(1_000);
    const off = await clientOf(phone).call(devices.setDeviceBackup, {
      params: { deviceId: laptop.deviceId },
      body: { enabled: false },
    });
    assert.deepEqual(off.backup, { enabled: false, changedAt: iso(server.clock.now()) });
    const unchanged = await sync(laptop, { backup: { enabled: true, changed: false }, nextDueAt: iso(due) });
    assert.deepEqual(
      unchanged.backup,
      off.backup,
      'the device did not change it: it is told to apply the console’s',
    );

    server.clock.advance(1_000);
    const local = await sync(laptop, { backup: { enabled: true, changed: true }, nextDueAt: null });
    assert.deepEqual(
      local.backup,
      { enabled: true, changedAt: iso(server.clock.now()) },
      "the device's change, reaching the server later, wins",
    );
    assert.equal((await deviceOf(laptop, laptop.deviceId)).nextDueAt, null);
    server.clock.advance(devices.AGENT_AWAY_MS + 1);
    assert.equal((await deviceOf(laptop, laptop.deviceId)).agentActive, false, 'no sync for a while: away');
  });

  it('holds a Back Up Now until the agent says it took it, and keeps the first of two presses', async () => {
    const requested = await clientOf(phone).call(devices.requestBackup, {
      params: { deviceId: laptop.deviceId },
    });
    const requestedAt = iso(server.clock.now());
    assert.equal(requested.backupRequestedAt, requestedAt);
    server.clock.advance(500);
    const again = await clientOf(phone).call(devices.requestBackup, {
      params: { deviceId: laptop.deviceId },
    });
    assert.equal(again.backupRequestedAt, requestedAt, 'the first request stands');

    const state = { backup: { enabled: true, changed: false }, nextDueAt: null };
    assert.deepEqual((await sync(laptop, state)).backupRequest, { requestedAt });
    assert.deepEqual((await sync(laptop, state)).backupRequest, { requestedAt }, 'still there until taken');
    assert.equal((await sync(phone, state)).backupRequest, null, 'the request is for the laptop only');
    assert.equal((await sync(laptop, { ...state, takenRequestAt: requestedAt })).backupRequest, null);
    assert.equal((await deviceOf(phone, laptop.deviceId)).backupRequestedAt, null);

    server.clock.advance(1_000);
    await clientOf(phone).call(devices.requestBackup, { params: { deviceId: laptop.deviceId } });
    const newer = await sync(laptop, { ...state, takenRequestAt: requestedAt });
    assert.deepEqual(
      newer.backupRequest,
      { requestedAt: iso(server.clock.now()) },
      'an older ack leaves a newer request',
    );
  });

  it('keeps the last failure apart from a later wait, with its reason', async () => {
    const failedAt = server.clock.now();
    await clientOf(laptop).call(devices.reportBackup, {
      body: {
        attemptAt: iso(failedAt),
        outcome: 'failed',
        reason: { codes: ['quota_exceeded'], values: { neededBytes: 5, freeBytes: 1 } },
      },
    });
    await clientOf(laptop).call(devices.reportBackup, {
      body: {
        attemptAt: iso(failedAt + 1_000),
        outcome: 'skipped',
        reason: {
          codes: ['network', 'power'],
          values: { type: 'cellular', metered: true, batteryPercent: 34 },
        },
      },
    });
    const seen = await deviceOf(phone, laptop.deviceId);
    assert.equal(seen.lastOutcome, 'skipped');
    assert.deepEqual(seen.lastReason?.values, { type: 'cellular', metered: true, batteryPercent: 34 });
    assert.deepEqual(seen.lastFailure, {
      at: iso(failedAt),
      reason: { codes: ['quota_exceeded'], values: { neededBytes: 5, freeBytes: 1 } },
    });
  });

  it('refuses a value that is not a short token, which could carry words', async () => {
    const answer = await request(server.url, 'POST', devices.reportBackup.url, {
      token: laptop.token,
      json: {
        attemptAt: iso(server.clock.now()),
        outcome: 'skipped',
        reason: { codes: [], values: { type: '/home/ann/Secret.pdf' } },
      },
    });
    assert.equal(answer.status, 400, JSON.stringify(answer.body));
  });

  it('refuses Back Up Now for a switched-off device and a signed-out one', async () => {
    const client = clientOf(phone);
    await client.call(devices.setDeviceBackup, {
      params: { deviceId: laptop.deviceId },
      body: { enabled: false },
    });
    await assert.rejects(client.call(devices.requestBackup, { params: { deviceId: laptop.deviceId } }), {
      code: 'conflict',
      message: 'backup is switched off on laptop',
    });

    await clientOf(phone).call(logout, {});
    await assert.rejects(client.call(devices.requestBackup, { params: { deviceId: phone.deviceId } }), {
      code: 'unauthorized',
    });
    await assert.rejects(
      clientOf(laptop).call(devices.requestBackup, { params: { deviceId: phone.deviceId } }),
      {
        code: 'conflict',
        message: 'phone is signed out, so it cannot back up',
      },
    );
  });

  it("answers another account's device with 404 and changes nothing; bad bodies are 400s", async () => {
    for (const call of [
      () => clientOf(stranger).call(devices.requestBackup, { params: { deviceId: laptop.deviceId } }),
      () =>
        clientOf(stranger).call(devices.setDeviceBackup, {
          params: { deviceId: laptop.deviceId },
          body: { enabled: true },
        }),
    ]) {
      await assert.rejects(call(), { code: 'not_found' });
    }
    const seen = await deviceOf(laptop, laptop.deviceId);
    assert.equal(seen.backup?.enabled, false);
    for (const body of [{ enabled: 'yes' }, {}]) {
      const answer = await request(server.url, 'PUT', `/api/devices/${laptop.deviceId}/backup`, {
        token: laptop.token,
        json: body,
      });
      assert.equal(answer.status, 400, JSON.stringify(body));
    }
    for (const body of [
      { backup: { enabled: true, changed: 'maybe' }, nextDueAt: null },
      { backup: { enabled: true }, nextDueAt: null },
      { backup: { enabled: true, changed: false }, nextDueAt: 'tomorrow' },
      { backup: { enabled: true, changed: false }, nextDueAt: null, takenRequestAt: 5 },
    ]) {
      const answer = await request(server.url, 'POST', devices.syncDevice.url, {
        token: laptop.token,
        json: body,
      });
      assert.equal(answer.status, 400, JSON.stringify(body));
    }
    assert.equal((await deviceOf(laptop, laptop.deviceId)).backup?.enabled, false);
  });

  it("keeps each device's latest sealed doctor result for the owner only, opaque and bounded", async () => {
    const tablet = await approvedDevice(server, laptop, PASSWORD, 'tablet');
    await assert.rejects(
      clientOf(tablet).call(devices.getDoctorReport, { params: { deviceId: laptop.deviceId } }),
      { code: 'not_found', message: 'this device has sent no doctor result yet' },
    );
    const canary = 'evidence-canary /home/ann/Tax return 2030.pdf';
    const result = { version: 1, checks: [{ id: 'sources', evidence: [canary] }] };
    await clientOf(laptop).call(devices.shareDoctorReport, {
      body: sealForOwner(laptop, { ...result, run: 1 }),
    });
    const latest = sealForOwner(laptop, { ...result, run: 2 });
    await clientOf(laptop).call(devices.shareDoctorReport, { body: latest });

    const got = await clientOf(tablet).call(devices.getDoctorReport, {
      params: { deviceId: laptop.deviceId },
    });
    assert.deepEqual(got, { report: latest, receivedAt: iso(server.clock.now()) }, 'the latest one, as sent');
    assert.deepEqual(
      openFromDevice(tablet, got.report),
      { ...result, run: 2 },
      "the account's other device opens it",
    );
    assert.equal((await deviceOf(tablet, laptop.deviceId)).doctorReportAt, iso(server.clock.now()));
    await assert.rejects(
      clientOf(stranger).call(devices.getDoctorReport, { params: { deviceId: laptop.deviceId } }),
      { code: 'not_found', message: 'no such device in this account' },
    );

    const stored = Buffer.concat(
      ['server.sqlite', 'server.sqlite-wal']
        .filter((name) => existsSync(join(server.dataDir, name)))
        .map((name) => readFileSync(join(server.dataDir, name))),
    );
    assert.ok(stored.includes(Buffer.from(latest.id)), 'the result is in the database');
    for (const text of [canary, 'Tax return', 'evidence-canary']) {
      assert.equal(stored.includes(Buffer.from(text)), false, `the database holds no "${text}"`);
      assert.equal(server.log.join('\n').includes(text), false, `the log holds no "${text}"`);
    }
  });

  it('refuses a doctor result past its bound, or not base64, and keeps the last one', async () => {
    const before = await clientOf(laptop).call(devices.getDoctorReport, {
      params: { deviceId: laptop.deviceId },
    });
    const tooLarge = Buffer.alloc(devices.MAX_DOCTOR_REPORT_BYTES + 1).toString('base64');
    for (const body of [
      { id: 'a'.repeat(64), sealed: tooLarge },
      { id: 'a'.repeat(64), sealed: 'not base64!' },
      { id: 'short', sealed: 'AAAA' },
      { id: 'a'.repeat(64), sealed: 'AAAA' },
    ]) {
      const answer = await request(server.url, 'PUT', devices.shareDoctorReport.url, {
        token: laptop.token,
        json: body,
      });
      assert.ok([400, 413].includes(answer.status), `${body.sealed.slice(0, 12)} → ${answer.status}`);
    }
    const after = await clientOf(laptop).call(devices.getDoctorReport, {
      params: { deviceId: laptop.deviceId },
    });
    assert.deepEqual(after, before);
  });
});
