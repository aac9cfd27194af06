/**
 * An axe-core scan of every page of the console, signed out and signed in, at desktop
 * width and on a phone in dark mode: no serious or critical violation. axe runs through
 * page.evaluate, which the page's CSP does not govern (the console itself loads no script
 * from elsewhere).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { writeTree } from '../helpers/trees.ts';
import { seriousViolations } from './axe.ts';
import { newContext } from './browser.ts';
import { type ConsoleFixture, startConsoleFixture } from './fixture.ts';

describe('console: accessibility', () => {
  let f: ConsoleFixture;
  before(async () => {
    f = await startConsoleFixture('laptop');
    writeTree(f.home, {
      Documents: {
        type: 'dir',
        children: { 'letter.txt': { type: 'file', data: 'Dear owner,\n'.repeat(100) } },
      },
    });
    assert.equal((await f.cli(['enable', '--yes'])).code, 0);
    assert.equal((await f.cli(['backup'])).code, 0);
  });
  after(() => f?.close());

  for (const options of [{}, { phone: true, dark: true }]) {
    it(`finds no serious violation on any page (${options.phone ? 'phone, dark' : 'desktop, light'})`, async () => {
      const context = await newContext(f.browser, options);
      const page = await context.newPage();
      const found: Record<string, string[]> = {};
      await page.goto(`${f.server.url}/system-status`);
      await page.locator('[data-component="blob_storage"]').waitFor();
      found.status = await seriousViolations(page);
      await page.goto(f.server.url);
      await page.getByRole('heading', { name: 'Sign in' }).waitFor();
      found.signIn = await seriousViolations(page);
      await f.signInBrowser(page, options.phone ? 'Phone' : 'Desktop');
      await page.locator('[data-device="laptop"]').waitFor();
      found.devices = await seriousViolations(page);
      await page.getByRole('link', { name: 'Storage' }).click();
      await page.locator('[data-source]').first().waitFor();
      found.storage = await seriousViolations(page);
      await page
        .getByRole('button', { name: /^Delete / })
        .first()
        .click();
      await page.getByRole('dialog').waitFor();
      found.deleteDialog = await seriousViolations(page);
      await page.getByRole('button', { name: 'Cancel' }).click();
      await page.getByRole('link', { name: 'Browse and restore' }).click();
      await page.getByRole('navigation', { name: 'Snapshots' }).getByRole('button').first().click();
      await page.getByRole('button', { name: /^📁 / }).first().click();
      await page.locator('[data-entry="letter.txt"]').waitFor();
      found.browse = await seriousViolations(page);
      await page.getByRole('link', { name: 'Account' }).click();
      await page.locator('[data-session]').first().waitFor();
      found.account = await seriousViolations(page);
      await page.getByRole('button', { name: 'Sign out every other device' }).click();
      await page.getByRole('dialog').waitFor();
      found.signOutDialog = await seriousViolations(page);
      await page.getByRole('button', { name: 'Cancel' }).click();
      assert.deepEqual(found, {
        status: [],
        signIn: [],
        devices: [],
        storage: [],
        deleteDialog: [],
        browse: [],
        account: [],
        signOutDialog: [],
      });
      await context.close();
    });
  }
});

describe('console: accessibility of the admin pages', () => {
  let f: ConsoleFixture;
  before(async () => {
    f = await startConsoleFixture('laptop', { role: 'admin' });
  });
  after(() => f?.close());

  for (const options of [{}, { phone: true, dark: true }]) {
    it(`finds no serious violation on any admin page (${options.phone ? 'phone, dark' : 'desktop, light'})`, async () => {
      const context = await newContext(f.browser, options);
      const page = await context.newPage();
      const found: Record<string, string[]> = {};
      await f.signInBrowser(page, options.phone ? 'Phone' : 'Desktop');
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Admin' }).click();
      for (const [section, ready] of [
        ['Users', '[data-user]'],
        ['Plans', '[data-plan]'],
        ['Releases', '[data-testid="minimum-version"]'],
        ['Incidents', 'form'],
        ['Audit log', '[data-event]'],
        ['Server health', '[data-job]'],
      ]) {
        await page.getByRole('navigation', { name: 'Admin' }).getByRole('link', { name: section }).click();
        await page.locator(ready).first().waitFor();
        found[section] = await seriousViolations(page);
      }
      assert.deepEqual(found, {
        Users: [],
        Plans: [],
        Releases: [],
        Incidents: [],
        'Audit log': [],
        'Server health': [],
      });
      await context.close();
    });
  }
});
