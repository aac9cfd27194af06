/**
 * The console's banner: a device of the account that has not backed up for longer than
 * the account allows is named above the device list, with why (its reason in words) and
 * when its backups would be deleted; in Chromium against a real server.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { reportBackup } from '../../src/api/devices.ts';
import { loadDeviceState } from '../../src/client/device-state.ts';
import { clientOf } from '../server/helpers.ts';
import { newContext } from './browser.ts';
import { type ConsoleFixture, startConsoleFixture } from './fixture.ts';

const DAY_MS = 86_400_000;

describe('console: the silent-devices banner', () => {
  let f: ConsoleFixture;
  let page: Page;

  before(async () => {
    f = await startConsoleFixture('laptop');
    const laptop = clientOf((await loadDeviceState(f.configDir))!);
    const at = (days: number) => new Date(f.server.clock.now() - days * DAY_MS).toISOString();
    await laptop.call(reportBackup, { body: { attemptAt: at(5), outcome: 'success' } });
    await laptop.call(reportBackup, {
      body: {
        attemptAt: at(1),
        outcome: 'skipped',
        reason: { codes: ['power'], values: { batteryPercent: 12 } },
      },
    });
    page = await (await newContext(f.browser)).newPage();
    await f.signInBrowser(page, 'Web console');
  });
  after(() => f?.close());

  it('names the silent device, why, and when its backups would be deleted', async () => {
    const banner = page.getByRole('region', { name: 'Devices that stopped backing up' });
    await banner.waitFor();
    const text = (await banner.textContent()) ?? '';
    assert.match(text, /laptop has not backed up for 5 days: on battery \(12%\)/);
    assert.match(text, /its backups will be deleted on .+ unless it backs up or is pinned/);
  });
});
