/**
 * Trusted-device sign-in through the real HTTP API: the first device on the password
 * alone, later devices approved with the code a trusted device shows, by TOTP, or by the
 * recovery key; each unwraps the same account key locally.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as OTPAuth from 'otpauth';
import * as account from '../../src/api/account.ts';
import * as auth from '../../src/api/auth.ts';
import { beginTotp } from '../../src/client/account-security.ts';
import { signIn } from '../../src/client/sign-in.ts';
import { TEST_KDF } from '../../src/core/keys.ts';
import { APPROVAL_TTL_MS } from '../../src/server/services/approvals.ts';
import { LOCAL_ADMIN } from '../../src/server/services/caller.ts';
import {
  approvedDevice,
  clientOf,
  codeFor,
  createAccount,
  device,
  firstDevice,
  pendingSignIn,
  rejectsMatching,
  rejectsWith,
  startTestServer,
  type TestServer,
} from './helpers.ts';

const PASSWORD = 'correct horse battery staple';

describe('sign-in', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  it('trusts the first device on the password alone; it creates the keys and the second device unwraps the same key', async () => {
    await createAccount(server, 'ann@example.com', PASSWORD);
    const first = await firstDevice(server, 'ann@example.com', PASSWORD);
    assert.match(first.recoveryKey, /^([0-9a-f]{8}-){7}[0-9a-f]{8}$/);
    assert.equal(Buffer.from(first.state.accountKey, 'base64').length, 32);

    const pending = await pendingSignIn(server, 'ann@example.com', PASSWORD, 'phone');
    assert.deepEqual(pending.methods, ['code', 'recovery']);
    const { approvals } = await clientOf(first.state).call(auth.listApprovals, {});
    assert.equal(approvals.length, 1);
    assert.equal(approvals[0].deviceName, 'phone');
    assert.match(approvals[0].code, /^\d{6}$/);

    const second = (await pending.complete({ method: 'code', code: approvals[0].code })).state;
    assert.equal(second.accountKey, first.state.accountKey, 'the second device holds the same account key');
    assert.deepEqual(second.repositoryConfig, first.state.repositoryConfig);
    assert.notEqual(second.deviceId, first.state.deviceId);
    assert.deepEqual(
      (await clientOf(first.state).call(auth.listApprovals, {})).approvals,
      [],
      'a used code is gone',
    );

    const keys = await clientOf(second).call(account.getKeys, {});
    assert.ok(keys.keys, 'the server holds the wrapped key');
    assert.notEqual(keys.keys.wrappedKey, second.accountKey, 'and only wrapped');
  });

  it('refuses a wrong password and an unknown email alike', async () => {
    await rejectsWith(
      signIn({ serverUrl: server.url, email: 'ann@example.com', password: 'wrong', device: device('x') }),
      'wrong_password',
    );
    await rejectsWith(
      signIn({ serverUrl: server.url, email: 'nobody@example.com', password: PASSWORD, device: device('x') }),
      'wrong_password',
    );
  });

  it('five wrong codes end a pending sign-in, even the right code no longer works', async () => {
    await createAccount(server, 'bob@example.com', PASSWORD);
    const trusted = (await firstDevice(server, 'bob@example.com', PASSWORD)).state;
    const pending = await pendingSignIn(server, 'bob@example.com', PASSWORD, 'tablet');
    const code = await codeFor(trusted, 'tablet');
    const wrong = code === '000000' ? '111111' : '000000';
    for (let left = 4; left >= 1; left--) {
      server.clock.advance(60_000); // past the growing delay, which abuse.test.ts covers
      await rejectsMatching(pending.complete({ method: 'code', code: wrong }), (error) => {
        assert.equal(error.code, 'unauthorized');
        assert.equal(error.details?.attemptsLeft, left);
      });
    }
    server.clock.advance(60_000);
    await rejectsWith(pending.complete({ method: 'code', code: wrong }), 'unauthorized');
    server.clock.advance(60_000);
    await rejectsWith(pending.complete({ method: 'code', code }), 'expired', /too many wrong codes/);
  });

  it('a code expires after ten minutes', async () => {
    await createAccount(server, 'cat@example.com', PASSWORD);
    const trusted = (await firstDevice(server, 'cat@example.com', PASSWORD)).state;
    const pending = await pendingSignIn(server, 'cat@example.com', PASSWORD, 'desktop');
    const code = await codeFor(trusted, 'desktop');
    server.clock.advance(APPROVAL_TTL_MS);
    await rejectsWith(pending.complete({ method: 'code', code }), 'expired', /expired/);
    assert.deepEqual(
      (await clientOf(trusted).call(auth.listApprovals, {})).approvals,
      [],
      'an expired sign-in is no longer shown',
    );
    await pendingSignIn(server, 'cat@example.com', PASSWORD, 'desktop again');
    const stored = await server.services.db.all<{ code: string }>(
      "SELECT code FROM sign_ins WHERE device_name = 'desktop'",
    );
    assert.deepEqual(
      stored.map((row) => row.code),
      [''],
      'the expired code is erased from the database',
    );
  });

  it('a trusted device can refuse a sign-in', async () => {
    await createAccount(server, 'dan@example.com', PASSWORD);
    const trusted = (await firstDevice(server, 'dan@example.com', PASSWORD)).state;
    const pending = await pendingSignIn(server, 'dan@example.com', PASSWORD, 'stranger');
    const [approval] = (await clientOf(trusted).call(auth.listApprovals, {})).approvals;
    await clientOf(trusted).call(auth.denyApproval, { params: { signInId: approval.id } });
    await rejectsWith(pending.complete({ method: 'code', code: approval.code }), 'forbidden', /refused/);
  });

  it('without a trusted device, the recovery key approves and opens the account key', async () => {
    await createAccount(server, 'eve@example.com', PASSWORD);
    const first = await firstDevice(server, 'eve@example.com', PASSWORD);
    await clientOf(first.state).call(auth.logout, {});
    const pending = await pendingSignIn(server, 'eve@example.com', PASSWORD, 'new laptop');
    assert.deepEqual(
      pending.methods,
      ['recovery'],
      'no signed-in device can show a code, no TOTP: recovery key only',
    );
    await rejectsWith(
      pending.complete({ method: 'recovery', recoveryKey: 'ab'.repeat(32) }),
      'unauthorized',
      /recovery key is wrong/,
    );
    const recovered = await pending.complete({
      method: 'recovery',
      recoveryKey: first.recoveryKey.toUpperCase(),
    });
    assert.equal(recovered.state.accountKey, first.state.accountKey);
  });

  it('with TOTP enabled, a code from the app approves; the same code cannot be used twice', async () => {
    await createAccount(server, 'fay@example.com', PASSWORD);
    const first = await firstDevice(server, 'fay@example.com', PASSWORD);
    const { secret } = await beginTotp(clientOf(first.state), first.state, PASSWORD, TEST_KDF.N);
    const app = new OTPAuth.TOTP({ secret, digits: 6, period: 30 });
    await clientOf(first.state).call(account.confirmTotp, {
      body: { code: app.generate({ timestamp: server.clock.now() }) },
    });
    assert.equal((await clientOf(first.state).call(account.getAccount, {})).totpEnabled, true);

    server.clock.advance(30_000);
    const pending = await pendingSignIn(server, 'fay@example.com', PASSWORD, 'work pc');
    assert.deepEqual(pending.methods, ['code', 'totp', 'recovery']);
    await rejectsWith(
      pending.complete({
        method: 'totp',
        code: '000000' === app.generate({ timestamp: server.clock.now() }) ? '111111' : '000000',
      }),
      'unauthorized',
    );
    const code = app.generate({ timestamp: server.clock.now() });
    const signedIn = await pending.complete({ method: 'totp', code });
    assert.equal(signedIn.state.accountKey, first.state.accountKey);

    const again = await pendingSignIn(server, 'fay@example.com', PASSWORD, 'replay');
    await rejectsWith(
      again.complete({ method: 'totp', code }),
      'unauthorized',
      /authenticator code is wrong/,
    );
  });

  it('a sign-in pending when the admin disables the account never completes, not even after re-enabling', async () => {
    const id = await createAccount(server, 'dis@example.com', PASSWORD);
    const first = await firstDevice(server, 'dis@example.com', PASSWORD);
    const pending = await pendingSignIn(server, 'dis@example.com', PASSWORD, 'thief');
    const code = await codeFor(first.state, 'thief');
    await server.services.admin.disable(LOCAL_ADMIN, id);
    await rejectsWith(pending.complete({ method: 'recovery', recoveryKey: first.recoveryKey }), 'forbidden');
    await rejectsWith(pending.complete({ method: 'code', code }), 'forbidden');
    await server.services.admin.enable(LOCAL_ADMIN, id);
    await rejectsWith(
      pending.complete({ method: 'recovery', recoveryKey: first.recoveryKey }),
      'forbidden',
      /refused/,
    );
    await rejectsWith(
      clientOf(first.state).call(account.getAccount, {}),
      'unauthorized',
      /revoked/, // sessions ended by the disable stay ended
    );
  });

  it('an account disabled between the second factor and the session gets neither', async () => {
    const id = await createAccount(server, 'race@example.com', PASSWORD);
    const first = await firstDevice(server, 'race@example.com', PASSWORD);
    const pending = await pendingSignIn(server, 'race@example.com', PASSWORD, 'late');
    // Only the flag, as if the disable landed while the recovery key was being checked.
    await server.services.accounts.setDisabled(LOCAL_ADMIN, id, true);
    await rejectsWith(pending.complete({ method: 'recovery', recoveryKey: first.recoveryKey }), 'forbidden');
    const users = await server.services.admin.listUsers();
    assert.equal(users.find((u) => u.id === id)?.devices, 1, 'no device was registered');
  });

  it('signs out: logout revokes the token', async () => {
    await createAccount(server, 'gus@example.com', PASSWORD);
    const first = (await firstDevice(server, 'gus@example.com', PASSWORD)).state;
    const second = await approvedDevice(server, first, PASSWORD, 'phone');
    await clientOf(second).call(auth.logout, {});
    await rejectsWith(clientOf(second).call(account.getAccount, {}), 'unauthorized', /signed out/);
    assert.equal(
      (await clientOf(first).call(account.getAccount, {})).email,
      'gus@example.com',
      'other devices stay signed in',
    );
  });
});
