/**
 * Account and security in the console, in Chromium against a real server, checked with the
 * real CLI: turning on TOTP (a wrong first code refused) and signing a new browser in with
 * a code; a new recovery key, shown once, that signs a browser in; a password change (a
 * wrong current password changes nothing) after which the CLI signs in with the new
 * password only and still reads the backups; revoking a session, after which its CLI gets
 * 401; and signing out every other device, then everywhere.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as OTPAuth from 'otpauth';
import type { Page } from 'playwright-core';
import { cumulusAsync, runCumulus } from '../helpers/cli.ts';
import { writeTree } from '../helpers/trees.ts';
import { newContext } from './browser.ts';
import { type ConsoleFixture, EMAIL, PASSWORD, startConsoleFixture } from './fixture.ts';

const NEW_PASSWORD = 'a new and longer password';
const LETTER = 'Dear owner,\n'.repeat(500);

describe('console: account and security', () => {
  let f: ConsoleFixture;
  let page: Page;
  let recoveryKey: string;

  before(async () => {
    f = await startConsoleFixture('laptop');
    writeTree(f.home, {
      Documents: { type: 'dir', children: { 'letter.txt': { type: 'file', data: LETTER } } },
    });
    assert.equal((await f.cli(['enable', '--yes'])).code, 0);
    const backup = await f.cli(['backup']);
    assert.equal(backup.code, 0, backup.stderr);
    page = await (await newContext(f.browser)).newPage();
    await f.signInBrowser(page, 'Desk browser');
    await page.getByRole('link', { name: 'Account' }).click();
    await page.getByRole('heading', { name: 'Account and security' }).waitFor();
  });
  after(() => f?.close());

  const region = (name: string) => page.getByRole('region', { name });

  /** accountRecord is the server's record of the account: what a change did or did not touch. */
  const accountRecord = async () => {
    const { accounts } = f.server.services;
    return accounts.record(await accounts.idByEmail(EMAIL));
  };

  /** signInWith signs a browser in with a password and a second factor other than a device's code. */
  async function signInWith(
    target: Page,
    password: string,
    factor: { method: 'Authenticator app'; code: string } | { method: 'Recovery key'; recoveryKey: string },
    name = `${factor.method} browser`,
  ): Promise<void> {
    await target.goto(f.server.url);
    await target.getByLabel('Email').fill(EMAIL);
    await target.getByLabel('Password').fill(password);
    await target.getByLabel('Name of this browser').fill(name);
    await target.getByRole('button', { name: 'Sign in' }).click();
    await target.getByRole('heading', { name: 'Approve this browser' }).waitFor();
    await target.getByRole('radio', { name: factor.method }).check();
    if ('code' in factor) await target.getByLabel('Code from the app').fill(factor.code);
    else await target.getByRole('textbox', { name: 'Recovery key' }).fill(factor.recoveryKey);
    await target.getByRole('button', { name: 'Approve' }).click();
    const refused = target.getByRole('alert');
    await target.getByRole('heading', { name: 'Devices' }).or(refused).waitFor();
    assert.equal(await refused.count(), 0, `signed in, not refused: ${await refused.allTextContents()}`);
  }

  const freshPage = async () => (await newContext(f.browser)).newPage();

  /** cliLogin signs a new CLI device in, approved with the code the fixture's device shows. */
  async function cliLogin(name: string, password: string): Promise<{ code: number; stderr: string }> {
    const env = {
      CUMULUS_CONFIG_DIR: join(f.dir, name),
      HOME: join(f.dir, name),
      CUMULUS_PASSWORD: password,
    };
    const child = cumulusAsync(['login', f.server.url, '--email', EMAIL, '--device-name', name], env, {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    const asked = new Promise<void>((resolve) =>
      child.stderr!.on('data', (chunk) => {
        stderr += chunk;
        if (stderr.includes('Verification code: ')) resolve();
      }),
    );
    const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
    const first = await Promise.race([asked.then(() => 'asked' as const), exited]);
    if (first !== 'asked') return { code: first, stderr };
    const { approvals } = (await f.json(['approve', '--json'])) as {
      approvals: { deviceName: string; code: string }[];
    };
    child.stdin!.end(`${approvals.find((a) => a.deviceName === name)!.code}\n`);
    return { code: await exited, stderr };
  }

  const deviceEnv = (name: string) => ({ CUMULUS_CONFIG_DIR: join(f.dir, name), HOME: join(f.dir, name) });

  it('turns TOTP on after a right first code, and a new browser signs in with a code from the app', async () => {
    const card = region('Two-factor sign-in');
    await card.getByLabel('Current password').fill(PASSWORD);
    await card.getByRole('button', { name: 'Set up an authenticator app' }).click();
    const uri = await card.getByTestId('totp-uri').getAttribute('href');
    assert.ok(uri);
    const secret = await card.getByTestId('totp-secret').textContent();
    const totp = OTPAuth.URI.parse(uri) as OTPAuth.TOTP;
    assert.equal(totp.secret.base32, secret, 'the setup key is the secret of the otpauth URI');
    assert.match(uri, /^otpauth:\/\/totp\/Cumulus:owner%40example\.com\?/);

    // The test server's clock stands still unless advanced: codes are made for its time.
    const clock = f.server.clock;
    const codeAt = (shift: number) => totp.generate({ timestamp: clock.now() + shift });
    const valid = new Set([-30_000, 0, 30_000].map(codeAt));
    const wrong = ['000000', '111111', '222222', '333333'].find((code) => !valid.has(code))!;
    await card.getByLabel('Code from the app').fill(wrong);
    await card.getByRole('button', { name: 'Turn on two-factor sign-in' }).click();
    await card.getByRole('alert').waitFor();
    assert.equal((await accountRecord()).totpSecret, null, 'a wrong first code leaves TOTP off');

    await card.getByLabel('Code from the app').fill(codeAt(0));
    await card.getByRole('button', { name: 'Turn on two-factor sign-in' }).click();
    await card.getByTestId('totp-state').getByText(/^On:/).waitFor();

    // The enrolment used this time step's code: each code works once, so sign in in the next.
    clock.advance(30_000);
    const other = await freshPage();
    await signInWith(other, PASSWORD, { method: 'Authenticator app', code: codeAt(0) });
    await other.context().close();
  });

  it('makes a new recovery key after a confirmation, shows it once, and it signs a browser in', async () => {
    const card = region('Recovery key');
    await card
      .getByTestId('recovery-state')
      .getByText(/has a recovery key/)
      .waitFor();
    await card.getByLabel('Current password').fill(PASSWORD);
    await card.getByRole('button', { name: 'Make a new recovery key' }).click();
    const dialog = page.getByRole('dialog', { name: 'Make a new recovery key?' });
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
    await card.getByRole('button', { name: 'Make a new recovery key' }).click();
    await dialog.getByRole('button', { name: 'Make a new key' }).click();
    recoveryKey = (await card.getByTestId('recovery-key').textContent())!;
    assert.match(recoveryKey, /^([0-9a-f]{8}-){7}[0-9a-f]{8}$/);
    await card.getByRole('button', { name: 'I have written it down' }).click();
    assert.equal(await card.getByTestId('recovery-key').count(), 0, 'shown only once');

    const other = await freshPage();
    await signInWith(other, PASSWORD, { method: 'Recovery key', recoveryKey });
    await other.context().close();
  });

  it('refuses a wrong current password, changing nothing, then changes it: the CLI signs in with the new one only', async () => {
    const card = region('Password');
    const unchanged = await accountRecord();
    await card.getByLabel('Current password').fill('not the password');
    await card.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
    await card.getByLabel('New password again').fill(NEW_PASSWORD);
    await card.getByRole('button', { name: 'Change password' }).click();
    await card
      .getByRole('alert')
      .getByText(/password does not open the account key/)
      .waitFor();
    const untouched = await accountRecord();
    assert.deepEqual(
      [untouched.kdf, untouched.authHash, untouched.wrappedKey],
      [unchanged.kdf, unchanged.authHash, unchanged.wrappedKey],
    );
    const before = await cliLogin('still-old', PASSWORD);
    assert.equal(before.code, 0, `the old password still works: ${before.stderr}`);

    await card.getByLabel('Current password').fill(PASSWORD);
    await card.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
    await card.getByLabel('New password again').fill(NEW_PASSWORD);
    await card.getByRole('button', { name: 'Change password' }).click();
    await card
      .getByRole('status')
      .getByText(/Password changed/)
      .waitFor();
    const changed = await accountRecord();
    assert.notEqual(changed.authHash, unchanged.authHash);
    assert.notEqual(changed.wrappedKey, unchanged.wrappedKey);
    assert.equal(changed.kdf.N, 2 ** 17, 'the new password is stretched at the default cost');

    const old = await cliLogin('old-password', PASSWORD);
    assert.notEqual(old.code, 0);
    assert.match(old.stderr, /the email or the password is wrong/);
    const fresh = await cliLogin('desk', NEW_PASSWORD);
    assert.equal(fresh.code, 0, fresh.stderr);

    // The account key is the same: the new device reads the laptop's backup.
    const target = join(f.dir, 'restored');
    const restore = await runCumulus(
      ['restore', 'latest', '--device', 'laptop', '--target', target],
      deviceEnv('desk'),
    );
    assert.equal(restore.code, 0, restore.stderr);
    const found = (await readdir(target, { recursive: true })).find((p) => p.endsWith('letter.txt'));
    assert.ok(found, 'the restore holds letter.txt');
    assert.equal(await readFile(join(target, found), 'utf8'), LETTER);
    // Devices signed in before keep working.
    assert.equal((await f.cli(['devices', 'list', '--json'])).code, 0);
  });

  it('signs one session out after a confirmation: its CLI calls get 401', async () => {
    const card = region('Signed-in devices');
    // A reload ends the in-memory session: sign in again, with the new password.
    await signInWith(page, NEW_PASSWORD, { method: 'Recovery key', recoveryKey }, 'Desk browser 2');
    await page.getByRole('link', { name: 'Account' }).click();
    await card.locator('[data-session="desk"]').waitFor();
    await card.getByRole('button', { name: 'Sign out desk', exact: true }).click();
    await page
      .getByRole('dialog', { name: 'Sign out desk?' })
      .getByRole('button', { name: 'Sign out' })
      .click();
    await card.locator('[data-session="desk"]').waitFor({ state: 'detached' });
    const revoked = await runCumulus(['devices', 'list', '--json'], deviceEnv('desk'));
    assert.notEqual(revoked.code, 0);
    assert.match(revoked.stderr, /this device was signed out \(its session was revoked\)/);
    assert.equal((await f.cli(['devices', 'list', '--json'])).code, 0, 'the other devices still work');
  });

  it('signs out every other device, then everywhere: the browser is back at sign-in', async () => {
    const card = region('Signed-in devices');
    await card.getByRole('button', { name: 'Sign out every other device' }).click();
    await page
      .getByRole('dialog', { name: 'Sign out everywhere?' })
      .getByRole('button', { name: 'Sign out' })
      .click();
    await card
      .getByRole('status')
      .getByText(/Signed out \d+ sessions?/)
      .waitFor();
    const laptop = await f.cli(['devices', 'list', '--json']);
    assert.notEqual(laptop.code, 0);
    assert.match(laptop.stderr, /signed out/);
    assert.deepEqual(
      await card
        .locator('[data-session]')
        .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-session'))),
      ['Desk browser 2'],
    );

    await card.getByRole('button', { name: 'Sign out everywhere, this browser too' }).click();
    await page
      .getByRole('dialog', { name: 'Sign out everywhere?' })
      .getByRole('button', { name: 'Sign out' })
      .click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    assert.equal(await page.getByTestId('signed-in-as').count(), 0);
  });
});
