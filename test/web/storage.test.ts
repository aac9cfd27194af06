/**
 * Manage Storage in the console, in Chromium against a real server, after real backups by
 * the CLI: every number equals `cumulus storage --json`, each source is named by the path
 * decrypted in the browser, a delete confirms with the exact bytes it frees and usage
 * drops by exactly that, and a plan change is refused when the backups do not fit.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { formatBytes } from '../../src/core/units.ts';
import { LOCAL_ADMIN } from '../../src/server/services/caller.ts';
import { writeTree } from '../helpers/trees.ts';
import { newContext } from './browser.ts';
import { type ConsoleFixture, startConsoleFixture } from './fixture.ts';

interface Usage {
  logicalSize: number;
  storedBytes: number;
  exclusiveBytes: number;
}
interface Report {
  usedBytes: number;
  quotaBytes: number;
  devices: (Usage & {
    deviceId: string;
    deviceName: string;
    sources: (Usage & { id: string; path: string })[];
  })[];
}

describe('console: manage storage', () => {
  let f: ConsoleFixture;
  let page: Page;
  const report = async () => (await f.json(['storage', '--json'])) as Report;

  before(async () => {
    f = await startConsoleFixture('laptop');
    writeTree(f.home, {
      Documents: {
        type: 'dir',
        children: { 'letter.txt': { type: 'file', data: 'Dear owner,\n'.repeat(4000) } },
      },
      Pictures: { type: 'dir', children: { 'cat.jpg': { type: 'file', data: randomBytes(200_000) } } },
    });
    assert.equal((await f.cli(['enable', '--yes'])).code, 0);
    const backup = await f.cli(['backup']);
    assert.equal(backup.code, 0, backup.stderr);
    const context = await newContext(f.browser);
    page = await context.newPage();
    await f.signInBrowser(page);
    await page.getByRole('link', { name: 'Storage' }).click();
    await page.getByRole('heading', { name: 'Manage Storage' }).waitFor();
  });
  after(() => f?.close());

  const bytesOf = async (row: string, field: string) =>
    Number(await page.locator(`${row} [data-field="${field}"]`).getAttribute('data-bytes'));

  it('shows the same numbers as `cumulus storage --json`, sources named by their paths', async () => {
    const expected = await report();
    await page
      .getByTestId('used')
      .getByText(`${formatBytes(expected.usedBytes)} of ${formatBytes(expected.quotaBytes)} used`)
      .waitFor();
    assert.equal(expected.devices.length, 1);
    for (const device of expected.devices) {
      const total = `[data-device-total="${device.deviceId}"]`;
      assert.equal(await bytesOf(total, 'logical'), device.logicalSize);
      assert.equal(await bytesOf(total, 'stored'), device.storedBytes);
      assert.equal(await bytesOf(total, 'exclusive'), device.exclusiveBytes);
      assert.equal(device.sources.length, 2);
      for (const source of device.sources) {
        const row = `[data-source="${source.id}"]`;
        assert.equal(await page.locator(`${row} th`).textContent(), source.path);
        assert.equal(await bytesOf(row, 'logical'), source.logicalSize);
        assert.equal(await bytesOf(row, 'stored'), source.storedBytes);
        assert.equal(await bytesOf(row, 'exclusive'), source.exclusiveBytes);
        assert.equal(
          await page.locator(`${row} [data-field="exclusive"]`).textContent(),
          formatBytes(source.exclusiveBytes),
        );
      }
    }
  });

  it('shows the retention policy the server applies and the space forecast', async () => {
    await page
      .getByTestId('retention-policy')
      .getByText(/Retention: every snapshot of the last 48 hours, one a day for 30 days/)
      .waitFor();
    const forecast = (await page.getByTestId('forecast').textContent()) ?? '';
    assert.match(forecast, /^Forecast: not enough backups yet to say when the plan fills\.$/);
  });

  it('deletes a source after a confirmation naming the exact bytes, and usage drops by exactly that', async () => {
    const before = await report();
    const pictures = before.devices[0].sources.find((s) => s.path === join(f.home, 'Pictures'))!;
    assert.ok(
      pictures.exclusiveBytes > 100_000,
      `the random picture is stored by this source only: ${JSON.stringify(before)}`,
    );
    await page.getByRole('button', { name: `Delete ${pictures.path}` }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete?' });
    await dialog.waitFor();
    const exact = `${pictures.exclusiveBytes.toLocaleString('en-US')} bytes`;
    assert.match(
      (await dialog.getByTestId('confirm-text').textContent()) ?? '',
      new RegExp(`frees .*\\(${exact}\\)`),
    );
    // Cancel first: nothing is deleted.
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    assert.equal((await report()).usedBytes, before.usedBytes);

    await page.getByRole('button', { name: `Delete ${pictures.path}` }).click();
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await page
      .getByTestId('delete-result')
      .getByText(`Freed ${formatBytes(pictures.exclusiveBytes)} (${exact})`)
      .waitFor();
    const after = await report();
    assert.equal(after.usedBytes, before.usedBytes - pictures.exclusiveBytes);
    assert.deepEqual(
      after.devices[0].sources.map((s) => s.path),
      [join(f.home, 'Documents')],
    );
    await page.locator(`[data-source="${pictures.id}"]`).waitFor({ state: 'detached' });
  });

  it('changes the plan, and refuses one the backups do not fit in', async () => {
    await f.server.services.plans.put(LOCAL_ADMIN, 'tiny', { name: 'Tiny', quotaBytes: 100, offered: true });
    await f.server.services.plans.put(LOCAL_ADMIN, 'family', {
      name: 'Family',
      quotaBytes: 50e9,
      offered: true,
    });
    // Only Free is self-service on a new server: the admin offers 50 GB.
    await f.server.services.plans.put(LOCAL_ADMIN, '50gb', {
      name: '50 GB',
      quotaBytes: 50e9,
      offered: true,
    });
    // A reload signs the tab out (the key lived in its memory): sign in again for the new plan list.
    await page.reload();
    await f.signInBrowser(page);
    await page.getByRole('link', { name: 'Storage' }).click();
    await page.getByRole('heading', { name: 'Manage Storage' }).waitFor();
    await page.getByTestId('current-plan').getByText('Free: 5.0 GB').waitFor();
    const plan = page.getByRole('region', { name: 'Plan' });
    await plan.getByLabel('Change to').selectOption('tiny');
    await plan.getByRole('button', { name: 'Change plan' }).click();
    await plan
      .getByRole('alert')
      .getByText(/the Tiny plan holds .* but this account uses/)
      .waitFor();
    await page.getByTestId('current-plan').getByText('Free: 5.0 GB').waitFor();
    await plan.getByLabel('Change to').selectOption('family');
    await plan.getByRole('button', { name: 'Change plan' }).click();
    await plan.getByRole('status').getByText('Your plan is now Family (50 GB).').waitFor();
    assert.equal((await report()).quotaBytes, 50e9);
  });

  it('fits a phone screen: the table scrolls inside its card, not the page', async () => {
    const phone = await newContext(f.browser, { phone: true, dark: true });
    const small = await phone.newPage();
    await f.signInBrowser(small, 'Phone');
    await small.getByRole('link', { name: 'Storage' }).click();
    await small.getByRole('heading', { name: 'Plan' }).waitFor();
    await small.locator('[data-source]').first().waitFor();
    const width = await small.evaluate<number>('document.documentElement.scrollWidth');
    assert.ok(width <= 390, `no sideways scrolling at phone width (page is ${width}px wide)`);
    await phone.close();
  });

  it("deletes a device's every backup after a confirmation naming the exact bytes, and usage drops by exactly that", async () => {
    const before = await report();
    const laptop = before.devices.find((d) => d.deviceName === 'laptop')!;
    assert.ok(
      laptop.exclusiveBytes > 0,
      `the laptop's backups hold bytes of their own: ${JSON.stringify(before)}`,
    );
    const snapshots = ((await f.json(['snapshots', '--json'])) as unknown[]).length;
    await page.getByRole('button', { name: 'Delete every backup of laptop' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete?' });
    await dialog.waitFor();
    const exact = `${formatBytes(laptop.exclusiveBytes)} (${laptop.exclusiveBytes.toLocaleString('en-US')} bytes)`;
    assert.equal(
      await dialog.getByTestId('confirm-text').textContent(),
      `Delete every backup of laptop (${snapshots} snapshots)? This frees ${exact}.`,
    );
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await page.getByTestId('delete-result').getByText(`Freed ${exact}`).waitFor();
    const after = await report();
    assert.equal(after.usedBytes, before.usedBytes - laptop.exclusiveBytes);
    assert.deepEqual(await f.json(['snapshots', '--json']), []);
    await page
      .getByTestId('used')
      .getByText(`${formatBytes(after.usedBytes)} of`)
      .waitFor();
  });
});
