/**
 * Zero-knowledge sign-in in the console, in Chromium against a real server: the account's
 * first device is the real CLI (`cumulus login`, which makes the keys); the browser signs
 * in with the password and is approved with the code `cumulus approve` prints; the
 * password never crosses the wire; a wrong code is refused; the recovery key works too;
 * sign out ends the server session.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { cliEnv, runCumulus } from '../helpers/cli.ts';
import { createAccount, request, startTestServer, type TestServer } from '../server/helpers.ts';
import { launchBrowser, newContext } from './browser.ts';
import { BROWSER_KDF } from './fixture.ts';

const EMAIL = 'owner@example.com';
const PASSWORD = cliEnv().CUMULUS_PASSWORD!;

describe('console: sign-in', () => {
  let server: TestServer;
  let browser: Browser;
  let configDir: string;
  let recoveryKey: string;
  const cli = (args: string[]) => runCumulus(args, { CUMULUS_CONFIG_DIR: configDir });

  before(async () => {
    server = await startTestServer();
    browser = await launchBrowser();
    configDir = await mkdtemp(join(tmpdir(), 'cumulus-console-cli-'));
    await createAccount(server, EMAIL, PASSWORD, { kdfCost: BROWSER_KDF });
    const login = await cli(['login', server.url, '--email', EMAIL, '--device-name', 'desk', '--json']);
    assert.equal(login.code, 0, login.stderr);
    recoveryKey = JSON.parse(login.stdout).recoveryKey;
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    await rm(configDir, { recursive: true, force: true });
  });

  /** signInWithPassword fills the first form and returns every request body the page sent. */
  async function signInWithPassword(page: Page, deviceName: string): Promise<string[]> {
    const bodies: string[] = [];
    page.on('request', (r) => bodies.push(`${r.url()} ${r.postData() ?? ''}`));
    await page.goto(server.url);
    await page.getByLabel('Email').fill(EMAIL);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByLabel('Name of this browser').fill(deviceName);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Approve this browser' }).waitFor();
    return bodies;
  }

  async function codeFromCli(deviceName: string, platform = 'web'): Promise<string> {
    const approve = await cli(['approve', '--json']);
    assert.equal(approve.code, 0, approve.stderr);
    const approval = JSON.parse(approve.stdout).approvals.find(
      (a: { deviceName: string }) => a.deviceName === deviceName,
    );
    assert.ok(approval, `cumulus approve lists ${deviceName}`);
    assert.equal(approval.platform, platform);
    return approval.code;
  }

  it('signs a new browser in with the code a CLI device shows, never sending the password', async () => {
    const context = await newContext(browser);
    const page = await context.newPage();
    const sent = await signInWithPassword(page, 'Firefox at work');
    const code = await codeFromCli('Firefox at work');
    const wrong = code === '000000' ? '111111' : '000000';
    await page.getByLabel('6-digit code').fill(wrong);
    await page.getByRole('button', { name: 'Approve' }).click();
    await page.getByRole('alert').waitFor();
    await page.getByLabel('6-digit code').fill(code);
    await page.getByRole('button', { name: 'Approve' }).click();
    await page.getByRole('heading', { name: 'Devices' }).waitFor();
    assert.equal(await page.getByTestId('signed-in-as').textContent(), EMAIL);
    assert.ok(
      sent.some((line) => line.includes('/api/auth/login')),
      'the page did sign in',
    );
    assert.ok(!sent.some((line) => line.includes(PASSWORD)), 'the password never left the browser');

    const sessions = await cli(['account', 'sessions', '--json']);
    assert.equal(sessions.code, 0, sessions.stderr);
    assert.match(sessions.stdout, /Firefox at work/);

    // The console's session token is in memory only: read it back from the page's requests to check sign-out.
    const token = await tokenOf(page);
    assert.equal((await request(server.url, 'GET', '/api/auth/session', { token })).status, 200);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    assert.equal((await request(server.url, 'GET', '/api/auth/session', { token })).status, 401);
    await context.close();
  });

  it('signs in with the recovery key when no device is at hand', async () => {
    const context = await newContext(browser);
    const page = await context.newPage();
    await signInWithPassword(page, 'Library computer');
    await page.getByLabel('Recovery key').check();
    await page.getByRole('textbox', { name: 'Recovery key' }).fill(recoveryKey);
    await page.getByRole('button', { name: 'Approve' }).click();
    await page.getByRole('heading', { name: 'Devices' }).waitFor();
    await context.close();
  });

  it('shows a waiting sign-in with its code to a signed-in browser, and refuses it there', async () => {
    const context = await newContext(browser);
    const page = await context.newPage();
    await signInWithPassword(page, 'Trusted browser');
    await page.getByLabel('6-digit code').fill(await codeFromCli('Trusted browser'));
    await page.getByRole('button', { name: 'Approve' }).click();
    await page.getByRole('heading', { name: 'Devices' }).waitFor();

    const stranger = await runCumulus(['login', server.url, '--email', EMAIL, '--device-name', 'stranger'], {
      CUMULUS_CONFIG_DIR: join(configDir, 'stranger'),
    });
    assert.notEqual(stranger.code, 0, 'without a code and no terminal, the CLI sign-in waits and fails');
    const listed = page.locator('[data-approval="stranger"]');
    await listed.waitFor();
    const code = await codeFromCli('stranger', `${process.platform}-${process.arch}`);
    assert.match((await listed.textContent()) ?? '', new RegExp(code));
    await page.getByRole('button', { name: 'Not me: refuse stranger' }).click();
    await listed.waitFor({ state: 'detached' });
    assert.doesNotMatch((await cli(['approve', '--json'])).stdout, /stranger/);
    await context.close();
  });
});

/** tokenOf signs a request from the page and reads the bearer token it carries. */
async function tokenOf(page: Page): Promise<string> {
  const seen = page.waitForRequest((r) => r.url().endsWith('/api/approvals'));
  const header = (await seen).headers().authorization;
  assert.ok(header?.startsWith('Bearer '));
  return header.slice('Bearer '.length);
}
