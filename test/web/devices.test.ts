/**
 * The console's home, the devices page, in Chromium against a real server with the real
 * agent (`cumulus agent run`) on a simulated sensor profile: live progress with rate and
 * ETA from the device's progress reports, the waiting reason with its measured value while
 * on battery, and the last successful backup once plugged in.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { reportProgress } from '../../src/api/devices.ts';
import { loadDeviceState } from '../../src/client/device-state.ts';
import { cumulusAsync } from '../helpers/cli.ts';
import { writeTree } from '../helpers/trees.ts';
import { clientOf } from '../server/helpers.ts';
import { newContext } from './browser.ts';
import { type ConsoleFixture, PLUGGED_IN, startConsoleFixture } from './fixture.ts';

describe('console: devices', () => {
  let f: ConsoleFixture;
  let agent: ChildProcess | undefined;
  let page: Page;
  const now = () => page.locator('[data-device="laptop"] [data-field="now"]');

  before(async () => {
    f = await startConsoleFixture('laptop');
    writeTree(f.home, {
      Documents: {
        type: 'dir',
        children: { 'letter.txt': { type: 'file', data: 'Dear owner,\n'.repeat(2000) } },
      },
    });
    const enabled = await f.cli(['enable', '--yes']);
    assert.equal(enabled.code, 0, enabled.stderr);
    const context = await newContext(f.browser);
    page = await context.newPage();
    await f.signInBrowser(page, 'Web console');
  });
  after(async () => {
    if (agent && agent.exitCode === null) {
      const exited = new Promise((resolve) => agent!.on('exit', resolve));
      agent.kill('SIGTERM');
      await exited;
    }
    await f?.close();
  });

  it('lists the CLI device with its platform and agent version, and this browser apart', async () => {
    const card = page.locator('[data-device="laptop"]');
    await card.waitFor();
    assert.match((await card.textContent()) ?? '', new RegExp(`${process.platform}-${process.arch}`));
    assert.match((await card.locator('[data-field="agent"]').textContent()) ?? '', /^\d+\.\d+\.\d+/);
    assert.equal(await card.locator('[data-field="last-backup"]').textContent(), 'never');
    assert.equal(await now().textContent(), 'no backup attempt reported yet');
    await page.getByText('Web console (this browser)').waitFor();
  });

  it('shows a running backup with its progress, rate and time left', async () => {
    const device = clientOf((await loadDeviceState(f.configDir))!);
    const at = Date.now();
    const report = (ms: number, bytesDone: number) =>
      device.call(reportProgress, {
        body: {
          at: new Date(at + ms).toISOString(),
          filesDone: bytesDone / 1_000_000,
          filesTotal: 100,
          bytesDone,
          bytesTotal: 100_000_000,
          bytesUploaded: bytesDone / 2,
        },
      });
    await report(0, 10_000_000);
    await now().getByText('backing up: 10 MB of 100 MB read (10 of 100 files), 5.0 MB uploaded').waitFor();
    await report(2_000, 30_000_000);
    // 20 MB in 2 s: 10 MB/s, and 70 MB to go.
    await now()
      .getByText(/30 MB of 100 MB read .* · 10 MB\/s · about 7 s left/)
      .waitFor();
    assert.equal(
      await page.getByRole('progressbar', { name: 'Backup progress' }).getAttribute('value'),
      '0.3',
    );
  });

  it('says why the agent waits while on battery, with the measured charge', async () => {
    agent = cumulusAsync(['agent', 'run'], f.env);
    await now()
      .getByText(/^waiting since .*: on battery \(34%\)$/)
      .waitFor({ timeout: 30_000 });
  });

  it('shows the last successful backup once the device is plugged in', async () => {
    await writeFile(f.sensors, JSON.stringify(PLUGGED_IN));
    await now()
      .getByText(/^backed up at /)
      .waitFor({ timeout: 30_000 });
    const last = await page.locator('[data-device="laptop"] [data-field="last-backup"]').textContent();
    assert.notEqual(last, 'never');
    const snapshots = (await f.json(['snapshots', '--json'])) as unknown[];
    assert.equal(snapshots.length, 1);
  });

  it('fits a phone screen', async () => {
    const phone = await newContext(f.browser, { phone: true, dark: true });
    const small = await phone.newPage();
    await f.signInBrowser(small, 'Phone');
    await small.locator('[data-device="laptop"]').waitFor();
    const width = await small.evaluate<number>('document.documentElement.scrollWidth');
    assert.ok(width <= 390, `no sideways scrolling at phone width (page is ${width}px wide)`);
    await small.screenshot({ path: join(f.dir, 'phone.png') });
    await phone.close();
  });
});
