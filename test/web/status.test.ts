/**
 * The console's System Status page, in Chromium against a real server: served at `/`
 * without signing in, the same lights as /api/status, red when blob storage cannot be
 * written, and laid out for a phone in dark mode.
 */
import assert from 'node:assert/strict';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { request, startTestServer, type TestServer } from '../server/helpers.ts';
import { launchBrowser, newContext } from './browser.ts';

describe('console: system status', () => {
  let server: TestServer;
  let browser: Browser;
  before(async () => {
    server = await startTestServer();
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it('serves the app at / and at any page path, and keeps JSON 404s for the API', async () => {
    const home = await request(server.url, 'GET', '/', { headers: { accept: 'text/html' } });
    assert.equal(home.status, 200);
    assert.match(home.headers.get('content-type')!, /text\/html/);
    assert.match(home.body, /<div id="root">/);
    const deep = await request(server.url, 'GET', '/storage', { headers: { accept: 'text/html' } });
    assert.equal(deep.status, 200);
    assert.equal(deep.body, home.body);
    const api = await request(server.url, 'GET', '/api/nothing', { headers: { accept: 'text/html' } });
    assert.equal(api.status, 404);
    assert.equal(api.body.error.code, 'not_found');
  });

  it('shows every component from /api/status without signing in', async () => {
    const report = (await request(server.url, 'GET', '/api/status')).body;
    const context = await newContext(browser);
    const page = await context.newPage();
    await page.goto(`${server.url}/system-status`);
    await page.getByRole('heading', { name: 'System Status' }).waitFor();
    await page.getByText('All systems operational').waitFor();
    for (const component of report.components) {
      const row = page.locator(`[data-component="${component.id}"]`);
      assert.equal(await row.locator('.component-name').textContent(), component.name);
      assert.equal(await row.locator('.component-state').textContent(), 'Operational');
    }
    await context.close();
  });

  it('turns red when blob storage cannot be written', async () => {
    const accounts = join(server.dataDir, 'accounts');
    await rm(accounts, { recursive: true, force: true });
    // Root ignores read-only modes: a plain file where the folder was makes every write fail.
    await writeFile(accounts, 'not a folder');
    const context = await newContext(browser);
    try {
      const page = await context.newPage();
      await page.goto(`${server.url}/system-status`);
      await page.getByText('Some systems are down').waitFor();
      const blob = page.locator('[data-component="blob_storage"]');
      assert.equal(await blob.locator('.component-state').textContent(), 'Outage');
      assert.match((await blob.locator('.detail').textContent()) ?? '', /blob storage failed/);
    } finally {
      await context.close();
      await rm(accounts, { force: true });
      await mkdir(accounts);
    }
  });

  it('fits a phone screen in dark mode', async () => {
    const context = await newContext(browser, { phone: true, dark: true });
    const page = await context.newPage();
    await page.goto(`${server.url}/system-status`);
    await page.getByText('All systems operational').waitFor();
    const width = await page.evaluate<number>('document.documentElement.scrollWidth');
    assert.ok(width <= 390, `no sideways scrolling at phone width (page is ${width}px wide)`);
    const background = await page.evaluate<string>('getComputedStyle(document.body).backgroundColor');
    assert.equal(background, 'rgb(17, 17, 20)', 'the dark palette applies');
    await context.close();
  });
});
