/**
 * Live backup progress and the upload measurement through the real HTTP API: progress is
 * seen on the reporting device only, within its account only, until the outcome report
 * clears it or it goes stale; the measurement takes raw bytes up to 8 MiB, refuses more
 * (without keeping them), and is rate-limited per session. `cumulus devices` shows both
 * the progress and the last outcome with its reason.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import * as devices from '../../src/api/devices.ts';
import { type DeviceState, saveDeviceState } from '../../src/client/device-state.ts';
import { cumulusAsync } from '../helpers/cli.ts';
import { clientOf, ownerAndStranger, request, startTestServer, type TestServer } from './helpers.ts';

const PASSWORD = 'progress test password';

function progressAt(at: number, bytesDone = 1_200_000_000): devices.BackupProgress {
  return {
    at: new Date(at).toISOString(),
    filesDone: 120,
    bytesDone,
    bytesUploaded: 300_000_000,
    filesTotal: 900,
    bytesTotal: 3_400_000_000,
  };
}

async function deviceOf(viewer: DeviceState, deviceId: string): Promise<devices.Device | undefined> {
  return (await clientOf(viewer).call(devices.listDevices, {})).devices.find((d) => d.id === deviceId);
}

function sendProgress(state: DeviceState, progress: devices.BackupProgress) {
  return clientOf(state).call(devices.reportProgress, { body: progress });
}

/** uploadTest posts `bytes` raw bytes to the measurement route, as `token` when given. */
function uploadTest(server: TestServer, bytes: number, token?: string) {
  return fetch(`${server.url}${devices.uploadTest.url}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/octet-stream',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: new Uint8Array(bytes),
  });
}

describe('backup progress and the upload measurement', () => {
  let server: TestServer;
  let laptop: DeviceState;
  let phone: DeviceState;
  let stranger: DeviceState;
  before(async () => {
    server = await startTestServer();
    ({ laptop, phone, stranger } = await ownerAndStranger(server, PASSWORD));
  });
  after(() => server.close());

  it("shows a running backup's progress on its device only, until the outcome report clears it", async () => {
    const start = server.clock.now();
    assert.equal((await deviceOf(laptop, laptop.deviceId))!.progress, null, 'no backup has run');
    await sendProgress(laptop, progressAt(start));

    assert.deepEqual((await deviceOf(phone, laptop.deviceId))!.progress, progressAt(start));
    assert.equal(
      (await deviceOf(phone, phone.deviceId))!.progress,
      null,
      'the other device is not backing up',
    );
    const seenByStranger = (await clientOf(stranger).call(devices.listDevices, {})).devices;
    assert.deepEqual(
      seenByStranger.map((d) => [d.name, d.progress]),
      [['bob laptop', null]],
      'another account sees neither the device nor its progress',
    );

    const done = await clientOf(laptop).call(devices.reportBackup, {
      body: { attemptAt: new Date(start + 5_000).toISOString(), outcome: 'success' },
    });
    assert.equal(done.progress, null, 'the outcome ends the progress');
    const listed = (await deviceOf(phone, laptop.deviceId))!;
    assert.deepEqual([listed.lastOutcome, listed.progress], ['success', null]);

    await sendProgress(laptop, progressAt(start + 4_000));
    assert.equal(
      (await deviceOf(laptop, laptop.deviceId))!.progress,
      null,
      'progress measured before the outcome arrived late and is ignored',
    );
  });

  it('keeps the newest progress and hides it once stale (the agent died mid-backup)', async () => {
    const start = server.clock.now() + 60_000;
    await sendProgress(phone, progressAt(start, 2_000));
    await sendProgress(phone, progressAt(start - 1_000, 1_000));
    assert.equal(
      (await deviceOf(phone, phone.deviceId))!.progress?.bytesDone,
      2_000,
      'an older report does not win',
    );
    server.clock.advance(devices.PROGRESS_STALE_MS - 1_000);
    assert.notEqual((await deviceOf(phone, phone.deviceId))!.progress, null, 'still fresh');
    server.clock.advance(2_000);
    assert.equal((await deviceOf(phone, phone.deviceId))!.progress, null, 'stale: not shown');
    await sendProgress(phone, progressAt(start + 1_000, 3_000));
    assert.equal(
      (await deviceOf(phone, phone.deviceId))!.progress?.bytesDone,
      3_000,
      'a new report shows again',
    );
  });

  it('refuses bad progress bodies with 400 and callers without a session with 401', async () => {
    const good = progressAt(server.clock.now());
    const { at: _at, ...withoutAt } = good;
    const bad: unknown[] = [
      { ...good, filesDone: -1 },
      { ...good, bytesDone: 1.5 },
      { ...good, bytesUploaded: 'many' },
      { ...good, at: 'yesterday' },
      { ...good, at: '2016-12-31T23:59:60Z' },
      { ...good, bytesTotal: -3 },
      // Whole in a double but past 2^53: it was stored and printed as '1.5e+61 PB'.
      { ...good, bytesTotal: 1.5e76 },
      { ...good, filesDone: 2 ** 53 },
      withoutAt,
      [],
      null,
    ];
    for (const json of bad) {
      const response = await request(server.url, 'PUT', '/api/device/progress', {
        token: laptop.token,
        json,
      });
      assert.equal(response.status, 400, `${JSON.stringify(json)} → ${JSON.stringify(response.body)}`);
      assert.equal(response.body.error.code, 'invalid_input');
    }
    const anonymous = await request(server.url, 'PUT', '/api/device/progress', { json: good });
    assert.equal(anonymous.status, 401);
  });

  it('never answers a random progress body with a server error', async () => {
    const good = progressAt(server.clock.now());
    const bodies = fc.oneof(
      fc.jsonValue(),
      fc
        .oneof(
          fc.string(),
          fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
        )
        .map((at) => ({ ...good, at })),
      fc
        .tuple(fc.double(), fc.oneof(fc.double(), fc.bigInt().map(String)))
        .map(([filesDone, bytesTotal]) => ({ ...good, filesDone, bytesTotal })),
    );
    await fc.assert(
      fc.asyncProperty(bodies, async (json) => {
        const response = await request(server.url, 'PUT', '/api/device/progress', {
          token: phone.token,
          json,
        });
        assert.ok(response.status < 500, `${JSON.stringify(json)} → ${response.status}`);
      }),
      { numRuns: 100 },
    );
  });

  it('counts up to 8 MiB of raw bytes, refuses more with 413, and needs a session', async () => {
    const exact = await uploadTest(server, devices.MAX_UPLOAD_TEST_BYTES, phone.token);
    assert.equal(exact.status, 200);
    assert.deepEqual(await exact.json(), { bytes: devices.MAX_UPLOAD_TEST_BYTES });

    const over = await uploadTest(server, devices.MAX_UPLOAD_TEST_BYTES + 1, phone.token);
    assert.equal(over.status, 413);
    const { error } = (await over.json()) as { error: { code: string; message: string } };
    assert.equal(error.code, 'too_large');
    assert.match(error.message, /at most 8388608 bytes \(8 MiB\)/);

    // Sent without a length up front, the server stops counting at the limit.
    const chunks = Array.from({ length: 9 }, () => new Uint8Array(1 << 20));
    const streamed = await fetch(`${server.url}${devices.uploadTest.url}`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', authorization: `Bearer ${phone.token}` },
      body: new ReadableStream({
        pull(controller) {
          const chunk = chunks.pop();
          if (chunk) controller.enqueue(chunk);
          else controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    assert.equal(streamed.status, 413);

    assert.equal((await uploadTest(server, 1000)).status, 401);
    const json = await request(server.url, 'POST', devices.uploadTest.url, { token: phone.token, json: {} });
    assert.deepEqual([json.status, json.body.error.code], [415, 'unsupported_media_type']);
  });

  it('limits each session to a dozen measurements an hour', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 13; i++) statuses.push((await uploadTest(server, 10, stranger.token)).status);
    assert.deepEqual(statuses, [...Array(12).fill(200), 429]);
    assert.equal((await uploadTest(server, 10, laptop.token)).status, 200, 'another session is not limited');
  });

  it('`cumulus devices` shows the last outcome with its reason and the running backup', async () => {
    const now = server.clock.now() + 120_000;
    await clientOf(laptop).call(devices.reportBackup, {
      body: {
        attemptAt: new Date(now).toISOString(),
        outcome: 'skipped',
        reason: { codes: ['power'], values: { batteryPercent: 34 } },
      },
    });
    await sendProgress(laptop, progressAt(now + 1_000));
    const config = await mkdtemp(join(tmpdir(), 'cumulus-devices-cli-'));
    try {
      await saveDeviceState(phone, config);
      const child = cumulusAsync(['devices', 'list'], { CUMULUS_CONFIG_DIR: config });
      let stdout = '';
      let stderr = '';
      child.stdout!.on('data', (chunk) => (stdout += chunk));
      child.stderr!.on('data', (chunk) => (stderr += chunk));
      const code = await new Promise((resolve) => child.on('close', resolve));
      assert.equal(code, 0, stderr);
      const laptopLines = stdout.slice(stdout.indexOf(laptop.deviceId));
      assert.match(laptopLines, /last attempt \S+: skipped \(power; batteryPercent 34\)/);
      assert.match(
        laptopLines,
        /backing up: 1\.2 GB of 3\.4 GB \(35%, 120 of 900 files\) read, 300 MB uploaded, as of /,
      );
    } finally {
      await rm(config, { recursive: true, force: true });
    }
  });
});
