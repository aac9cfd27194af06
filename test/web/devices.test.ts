/**
 * The console's home, the devices page, in Chromium against a real server with the real
 * agent (`cumulus agent run`) on a simulated sensor profile: live progress with rate and
 * ETA from the device's progress reports, the waiting reason with its measured value while
 * on battery, the agent's own backup live once plugged in (its uploads slowed by a proxy so
 * it can be watched), Back Up Now from the console taken within seconds while on battery,
 * the backup switch reaching the device, and the troubleshooter: the doctor's checks the
 * agent sent sealed, opened in the browser, with none of their evidence on the server.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
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
import { type ConsoleFixture, ON_BATTERY, PLUGGED_IN, startConsoleFixture } from './fixture.ts';

/** BIG_FILE_BYTES of random data through UPLOAD_RATE: a backup of several seconds, long enough to watch. */
const BIG_FILE_BYTES = 40_000_000;
const UPLOAD_RATE = 4_000_000;

describe('console: devices', () => {
  let f: ConsoleFixture;
  let agent: ChildProcess | undefined;
  let page: Page;
  const now = () => page.locator('[data-device="laptop"] [data-field="now"]');

  before(async () => {
    f = await startConsoleFixture('laptop', { uploadBytesPerSecond: UPLOAD_RATE });
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

  it('says why the agent waits while on battery, with the measured charge, and when it is due', async () => {
    agent = cumulusAsync(['agent', 'run'], f.env);
    await now()
      .getByText(/^waiting since .*: on battery \(34%\)$/)
      .waitFor({ timeout: 30_000 });
    const backup = page.getByRole('switch', { name: 'Back up laptop automatically' });
    await page
      .locator('[data-device="laptop"] [data-field="backup-state"]')
      .getByText(/^· on since /)
      .waitFor();
    assert.equal(
      await backup.isChecked(),
      true,
      'the switch `cumulus enable` turned on, as the agent synced it',
    );
    await page
      .locator('[data-device="laptop"] [data-field="next-due"]')
      .getByText('due now: it starts once every condition holds')
      .waitFor({ timeout: 30_000 });
  });

  it("shows the doctor's checks the waiting agent sent, opened in the browser; the server holds none of it", async () => {
    const troubleshooter = page.locator('[data-device="laptop"] [data-field="troubleshooter"]');
    await troubleshooter
      .locator('summary')
      .getByText(/^Troubleshooter: \d+ failed, \d+ with a warning, checked /)
      .waitFor({
        timeout: 90_000,
      });
    await troubleshooter.locator('summary').click();
    const power = troubleshooter.locator('[data-check="power"]');
    await power.waitFor();
    assert.match((await power.textContent()) ?? '', /^Failed Power/);
    assert.match((await power.textContent()) ?? '', /34%/, 'the evidence: the measured charge');
    assert.ok((await power.locator('ol li').count()) > 0, 'the numbered steps to fix it');
    const documents = join(f.home, 'Documents');
    const sources = (await troubleshooter.locator('[data-check="sources"]').textContent()) ?? '';
    assert.ok(sources.includes(documents), `the sources check names ${documents}: ${sources}`);

    const stored = Buffer.concat(
      ['server.sqlite', 'server.sqlite-wal']
        .filter((name) => existsSync(join(f.server.dataDir, name)))
        .map((name) => readFileSync(join(f.server.dataDir, name))),
    );
    for (const evidence of [documents, f.home]) {
      assert.equal(stored.includes(Buffer.from(evidence)), false, `the database holds no ${evidence}`);
      assert.equal(f.server.log.join('\n').includes(evidence), false, `the log holds no ${evidence}`);
    }
  });

  it("shows the agent's own backup live, with its progress, once the device is plugged in", async () => {
    await writeFile(join(f.home, 'Documents', 'film.mov'), randomBytes(BIG_FILE_BYTES));
    await writeFile(f.sensors, JSON.stringify(PLUGGED_IN));
    const progress = now().locator('[data-field="progress"]');
    await progress.waitFor({ timeout: 60_000 });
    assert.match(
      (await progress.textContent()) ?? '',
      /^backing up: .* read \(\d+( of \d+)? files\), .* uploaded/,
    );
    await now()
      .getByText(/^backed up at /)
      .waitFor({ timeout: 120_000 });
    const last = await page.locator('[data-device="laptop"] [data-field="last-backup"]').textContent();
    assert.notEqual(last, 'never');
    assert.match(
      (await page.locator('[data-device="laptop"] [data-field="next-due"]').textContent()) ?? '',
      /^\w/,
      'the next backup is a day away',
    );
    assert.equal(((await f.json(['snapshots', '--json'])) as unknown[]).length, 1);
  });

  it('Back Up Now in the console: the agent backs up within seconds, though on battery', async (t) => {
    await writeFile(f.sensors, JSON.stringify(ON_BATTERY));
    await writeFile(join(f.home, 'Documents', 'note.txt'), 'written after the first backup\n');
    const button = page.getByRole('button', { name: 'Back Up Now' });
    const clicked = Date.now();
    await button.click();
    await now()
      .getByText(/^Back Up Now requested at .*: the device starts within seconds$|^backing up|^backed up at/)
      .waitFor();
    for (;;) {
      const snapshots = (await f.json(['snapshots', '--json'])) as unknown[];
      if (snapshots.length === 2) break;
      assert.ok(Date.now() - clicked < 60_000, 'the agent backed up within a minute of the click');
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const seconds = (Date.now() - clicked) / 1000;
    t.diagnostic(`snapshot committed ${seconds.toFixed(1)} s after the click`);
    assert.ok(seconds < 30, `backed up ${seconds} s after the click`);
    await now()
      .getByText(/^backed up at /)
      .waitFor({ timeout: 30_000 });
    assert.equal(await button.isEnabled(), true, 'the request is done');
  });

  it("switches the device's backup off from the console, as `cumulus settings show` then says", async () => {
    const backup = page.getByRole('switch', { name: 'Back up laptop automatically' });
    await backup.click();
    await page
      .locator('[data-device="laptop"] [data-field="backup-state"]')
      .getByText(/^· off since /)
      .waitFor();
    assert.equal(
      await page.locator('[data-device="laptop"] [data-field="next-due"]').textContent(),
      'none: backup is off',
    );
    assert.equal(await page.getByRole('button', { name: 'Back Up Now' }).isEnabled(), false);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const settings = (await f.json(['settings', 'show', '--json'])) as { backup: { enabled: boolean } };
      if (!settings.backup.enabled) break;
      assert.ok(Date.now() < deadline, 'the agent applied the switch within seconds');
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const shown = await f.cli(['settings', 'show']);
    assert.match(shown.stdout, /^backup\s+off\s+automatic backups/m);
    await backup.click();
    await page
      .locator('[data-device="laptop"] [data-field="backup-state"]')
      .getByText(/^· on since /)
      .waitFor();
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
