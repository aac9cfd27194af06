/**
 * ConsoleFixture is what the console's signed-in tests share: a real server on a loopback
 * port, an account whose first device is the real CLI (`cumulus login` in its own config
 * folder and HOME, with a simulated sensor profile for its agent), Debian's Chromium, and
 * signInBrowser, which signs a page in with the code `cumulus approve` prints.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { KDF_FLOOR_N } from '../../src/api/common.ts';
import { TEST_KDF } from '../../src/core/keys.ts';
import { type CliResult, cliEnv, runCumulus } from '../helpers/cli.ts';
import { throttlingProxy } from '../helpers/throttle.ts';
import { createAccount, startTestServer, type TestServer } from '../server/helpers.ts';
import { launchBrowser } from './browser.ts';

export const EMAIL = 'owner@example.com';
export const PASSWORD = cliEnv().CUMULUS_PASSWORD!;

/** BROWSER_KDF is the cheapest password cost a browser accepts (the CLI's tests go lower). */
export const BROWSER_KDF = { ...TEST_KDF, N: KDF_FLOOR_N };

export const ON_BATTERY = {
  power: { ac: false, batteryPercent: 34 },
  network: { online: true, type: 'wifi', metered: false, wifiSignalPercent: 70 },
  session: { locked: true, idleSeconds: 600 },
};
export const PLUGGED_IN = { ...ON_BATTERY, power: { ac: true, batteryPercent: 80 } };

export interface ConsoleFixture {
  server: TestServer;
  browser: Browser;
  dir: string;
  /** The CLI device's HOME, where its backed-up folders are. */
  home: string;
  configDir: string;
  sensors: string;
  env: Record<string, string>;
  cli(args: string[]): Promise<CliResult>;
  /** json runs a `--json` command and parses what it printed. */
  json(args: string[]): Promise<unknown>;
  signInBrowser(page: Page, deviceName?: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * startConsoleFixture starts it all; with `uploadBytesPerSecond` the CLI device talks to
 * the server through a proxy that slows what it sends, so its backups last long enough to
 * be watched; `role` makes the account an admin.
 */
export async function startConsoleFixture(
  deviceName = 'laptop',
  options: { uploadBytesPerSecond?: number; role?: 'user' | 'admin' } = {},
): Promise<ConsoleFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'cumulus-console-'));
  const home = join(dir, 'home');
  const configDir = join(dir, 'config');
  const sensors = join(dir, 'sensors.json');
  await writeFile(sensors, JSON.stringify(ON_BATTERY));
  const env = { HOME: home, CUMULUS_CONFIG_DIR: configDir, CUMULUS_SENSORS: sensors, CUMULUS_REPOSITORY: '' };
  const server = await startTestServer();
  const browser = await launchBrowser();
  const cli = (args: string[]) => runCumulus(args, env);
  const json = async (args: string[]) => {
    const run = await cli(args);
    assert.equal(run.code, 0, `cumulus ${args.join(' ')}: ${run.stderr}`);
    return JSON.parse(run.stdout);
  };
  await createAccount(server, EMAIL, PASSWORD, { kdfCost: BROWSER_KDF, role: options.role });
  const proxy =
    options.uploadBytesPerSecond === undefined
      ? undefined
      : await throttlingProxy(server.url, options.uploadBytesPerSecond);
  const login = await cli(['login', proxy?.url ?? server.url, '--email', EMAIL, '--device-name', deviceName]);
  assert.equal(login.code, 0, login.stderr);

  const signInBrowser = async (page: Page, name = 'Web console') => {
    await page.goto(server.url);
    await page.getByLabel('Email').fill(EMAIL);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByLabel('Name of this browser').fill(name);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Approve this browser' }).waitFor();
    const { approvals } = (await json(['approve', '--json'])) as {
      approvals: { deviceName: string; code: string }[];
    };
    const approval = approvals.find((a) => a.deviceName === name);
    assert.ok(approval, `cumulus approve lists ${name}`);
    await page.getByLabel('6-digit code').fill(approval.code);
    await page.getByRole('button', { name: 'Approve' }).click();
    await page.getByRole('heading', { name: 'Devices' }).waitFor();
  };

  return {
    server,
    browser,
    dir,
    home,
    configDir,
    sensors,
    env,
    cli,
    json,
    signInBrowser,
    close: async () => {
      await browser.close();
      await proxy?.close();
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
