/** Account changes and device management through the real HTTP API. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as account from '../../src/api/account.ts';
import * as auth from '../../src/api/auth.ts';
import * as devices from '../../src/api/devices.ts';
import { changePassword, replaceRecoveryKey } from '../../src/client/account-security.ts';
import { signIn } from '../../src/client/sign-in.ts';
import { isCumulusError } from '../../src/core/errors.ts';
import { TEST_KDF } from '../../src/core/keys.ts';
import {
  approvedDevice,
  clientOf,
  createAccount,
  device,
  firstDevice,
  pendingSignIn,
  rejectsMatching,
  rejectsWith,
  request,
  startTestServer,
  type TestServer,
} from './helpers.ts';

const PASSWORD = 'old password 1';
const BATTERY = { codes: ['power'], values: { ac: false, batteryPercent: 34 } };

describe('account', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  it('a password change refuses to stretch the password with a cost below the floor, and changes nothing', async () => {
    // The account was made at the tests' cheap cost: as if a hostile server served it.
    await createAccount(server, 'floor@example.com', PASSWORD);
    const first = (await firstDevice(server, 'floor@example.com', PASSWORD)).state;
    await rejectsWith(
      changePassword(clientOf(first), first, { current: PASSWORD, next: 'new password 3' }, TEST_KDF),
      'invalid_input',
    );
    await rejectsWith(replaceRecoveryKey(clientOf(first), first, PASSWORD), 'invalid_input');
    await approvedDevice(server, first, PASSWORD, 'still-the-old-password');
  });

  it('a password change keeps the account key openable: the new password unwraps it, the old one no longer signs in', async () => {
    await createAccount(server, 'pat@example.com', PASSWORD);
    const first = (await firstDevice(server, 'pat@example.com', PASSWORD)).state;
    await rejectsWith(
      changePassword(
        clientOf(first),
        first,
        { current: 'not it', next: 'new password 2' },
        TEST_KDF,
        TEST_KDF.N,
      ),
      'wrong_password',
    );
    await changePassword(
      clientOf(first),
      first,
      { current: PASSWORD, next: 'new password 2' },
      TEST_KDF,
      TEST_KDF.N,
    );

    await rejectsWith(
      signIn({ serverUrl: server.url, email: 'pat@example.com', password: PASSWORD, device: device('x') }),
      'wrong_password',
    );
    const second = await approvedDevice(server, first, 'new password 2', 'phone');
    assert.equal(second.accountKey, first.accountKey, 'same account key under the new password');
    assert.equal(
      (await clientOf(first).call(account.getAccount, {})).email,
      'pat@example.com',
      'devices stay signed in',
    );
  });

  it('a new recovery key replaces the old one', async () => {
    await createAccount(server, 'rob@example.com', PASSWORD);
    const first = await firstDevice(server, 'rob@example.com', PASSWORD);
    const fresh = await replaceRecoveryKey(clientOf(first.state), first.state, PASSWORD, TEST_KDF.N);
    await clientOf(first.state).call(auth.logout, {});

    const withOld = await pendingSignIn(server, 'rob@example.com', PASSWORD, 'a');
    await rejectsWith(
      withOld.complete({ method: 'recovery', recoveryKey: first.recoveryKey }),
      'unauthorized',
    );
    const withNew = await withOld.complete({ method: 'recovery', recoveryKey: fresh });
    assert.equal(withNew.state.accountKey, first.state.accountKey);
  });

  it('lists sessions, revokes one, and signs out all other devices', async () => {
    await createAccount(server, 'sue@example.com', PASSWORD);
    const laptop = (await firstDevice(server, 'sue@example.com', PASSWORD)).state;
    const phone = await approvedDevice(server, laptop, PASSWORD, 'phone');
    const tablet = await approvedDevice(server, laptop, PASSWORD, 'tablet');

    const { sessions } = await clientOf(laptop).call(account.listSessions, {});
    assert.deepEqual(
      sessions.map((s) => [s.deviceName, s.current]),
      [
        ['laptop', true],
        ['phone', false],
        ['tablet', false],
      ],
    );
    await clientOf(laptop).call(account.revokeSession, { params: { sessionId: sessions[1].id } });
    await rejectsWith(clientOf(phone).call(account.getAccount, {}), 'unauthorized');

    assert.deepEqual(await clientOf(laptop).call(account.signOutAll, { body: {} }), { revoked: 1 });
    await rejectsWith(clientOf(tablet).call(account.getAccount, {}), 'unauthorized');
    assert.equal(
      (await clientOf(laptop).call(account.getAccount, {})).email,
      'sue@example.com',
      'this device stays signed in',
    );

    assert.deepEqual(await clientOf(laptop).call(account.signOutAll, { body: { includeCurrent: true } }), {
      revoked: 1,
    });
    await rejectsWith(clientOf(laptop).call(account.getAccount, {}), 'unauthorized', /signed out/);
  });

  it('renames and removes devices; a removed device is signed out and told why', async () => {
    await createAccount(server, 'tom@example.com', PASSWORD);
    const laptop = (await firstDevice(server, 'tom@example.com', PASSWORD)).state;
    const phone = await approvedDevice(server, laptop, PASSWORD, 'phone');
    const renamed = await clientOf(laptop).call(devices.renameDevice, {
      params: { deviceId: phone.deviceId },
      body: { name: "Tom's phone" },
    });
    assert.equal(renamed.name, "Tom's phone");
    await clientOf(laptop).call(devices.removeDevice, {
      params: { deviceId: phone.deviceId },
      query: { deleteBackups: true },
    });
    await assert.rejects(
      clientOf(phone).call(account.getAccount, {}),
      (error: unknown) => isCumulusError(error, 'unauthorized') && error.details?.reason === 'device_removed',
    );
    const listed = await clientOf(laptop).call(devices.listDevices, {});
    assert.deepEqual(
      listed.devices.map((d) => d.name),
      ['laptop'],
    );
  });

  it('keeps what the agent reports about each backup, for the console', async () => {
    await createAccount(server, 'uma@example.com', PASSWORD);
    const laptop = (await firstDevice(server, 'uma@example.com', PASSWORD)).state;
    const ok = await clientOf(laptop).call(devices.reportBackup, {
      body: { attemptAt: '2030-01-01T02:00:00.000Z', outcome: 'success' },
    });
    assert.equal(ok.lastBackupAt, '2030-01-01T02:00:00.000Z');
    const skipped = await clientOf(laptop).call(devices.reportBackup, {
      body: { attemptAt: '2030-01-02T02:00:00.000Z', outcome: 'skipped', reason: BATTERY },
    });
    assert.deepEqual(
      [skipped.lastBackupAt, skipped.lastAttemptAt, skipped.lastOutcome, skipped.lastReason],
      ['2030-01-01T02:00:00.000Z', '2030-01-02T02:00:00.000Z', 'skipped', BATTERY],
    );
    const [listed] = (await clientOf(laptop).call(devices.listDevices, {})).devices;
    assert.deepEqual(listed.lastReason, BATTERY);
  });

  it('refuses a reason in words, where only codes and numbers belong: words could quote a path', async () => {
    await createAccount(server, 'uli@example.com', PASSWORD);
    const { token } = (await firstDevice(server, 'uli@example.com', PASSWORD)).state;
    const attemptAt = '2030-01-02T02:00:00.000Z';
    const refused = [
      'partial: 1 file(s) could not be read (first: /home/uli/Medical-Records: gone)',
      { codes: ['/home/uli/Medical-Records'], values: {} },
      { codes: ['problems'], values: { first: '/home/uli/Medical-Records' } },
      { codes: ['problems'], values: {}, message: '/home/uli/Medical-Records' },
    ];
    for (const reason of refused) {
      const response = await request(server.url, 'POST', '/api/device/report', {
        token,
        json: { attemptAt, outcome: 'partial', reason },
      });
      if (response.status === 200)
        assert.doesNotMatch(
          JSON.stringify(response.body),
          /Medical/,
          `${JSON.stringify(reason)} is not kept`,
        );
      else assert.equal(response.status, 400, JSON.stringify(reason));
    }
    const listed = await request(server.url, 'GET', '/api/devices', { token });
    assert.doesNotMatch(JSON.stringify(listed.body), /Medical/);
  });

  it('a session unused for 90 days ends; one in use does not', async () => {
    await createAccount(server, 'idle@example.com', PASSWORD);
    const idle = (await firstDevice(server, 'idle@example.com', PASSWORD)).state;
    const busy = await approvedDevice(server, idle, PASSWORD, 'busy');
    for (let day = 0; day < 3; day++) {
      server.clock.advance(45 * 24 * 60 * 60_000);
      await clientOf(busy).call(account.getAccount, {});
    }
    await rejectsMatching(clientOf(idle).call(account.getAccount, {}), (error) => {
      assert.equal(error.code, 'unauthorized');
      assert.equal(error.details?.reason, 'idle');
    });
    await rejectsWith(clientOf(idle).call(account.getAccount, {}), 'unauthorized', /revoked/);
    assert.equal((await clientOf(busy).call(account.getAccount, {})).email, 'idle@example.com');
  });

  it("another account's device, session and sign-in IDs are simply not found", async () => {
    await createAccount(server, 'vic@example.com', PASSWORD);
    await createAccount(server, 'wes@example.com', PASSWORD);
    const vic = (await firstDevice(server, 'vic@example.com', PASSWORD)).state;
    const wes = (await firstDevice(server, 'wes@example.com', PASSWORD)).state;
    await pendingSignIn(server, 'wes@example.com', PASSWORD, 'wes phone');
    const [wesApproval] = (await clientOf(wes).call(auth.listApprovals, {})).approvals;
    const [wesSession] = (await clientOf(wes).call(account.listSessions, {})).sessions;
    const asVic = clientOf(vic);
    await rejectsWith(
      asVic.call(devices.renameDevice, { params: { deviceId: wes.deviceId }, body: { name: 'mine' } }),
      'not_found',
    );
    await rejectsWith(
      asVic.call(devices.removeDevice, { params: { deviceId: wes.deviceId }, query: {} }),
      'not_found',
    );
    await rejectsWith(
      asVic.call(account.revokeSession, { params: { sessionId: wesSession.id } }),
      'not_found',
    );
    await rejectsWith(asVic.call(auth.denyApproval, { params: { signInId: wesApproval.id } }), 'not_found');
    assert.deepEqual((await asVic.call(auth.listApprovals, {})).approvals, [], "vic never sees wes's codes");
    assert.equal(
      (await clientOf(wes).call(account.getAccount, {})).email,
      'wes@example.com',
      'wes is untouched',
    );
  });
});
