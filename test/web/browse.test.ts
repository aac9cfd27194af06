/**
 * Browse and restore in the console, in Chromium against a real server, after a real
 * backup by the CLI: the snapshot timeline, the folder browser down a nested folder, a
 * 10,000-entry folder with a filter, and a download decrypted and verified in the browser
 * whose bytes equal the original's (a multi-chunk random file and a compressed text).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { type Spec, writeTree } from '../helpers/trees.ts';
import { newContext } from './browser.ts';
import { type ConsoleFixture, startConsoleFixture } from './fixture.ts';

const MANY = 10_000;

describe('console: browse and restore', () => {
  let f: ConsoleFixture;
  let page: Page;
  const big = randomBytes(5_000_000);
  const letter = 'Dear owner,\n'.repeat(20_000);

  before(async () => {
    f = await startConsoleFixture('laptop');
    const many: Record<string, Spec> = {};
    for (let i = 0; i < MANY; i++)
      many[`note-${String(i).padStart(5, '0')}.txt`] = { type: 'file', data: `note ${i}\n` };
    writeTree(f.home, {
      Documents: {
        type: 'dir',
        children: {
          'letter.txt': { type: 'file', data: letter },
          taxes: {
            type: 'dir',
            children: { '2026': { type: 'dir', children: { 'scan.pdf': { type: 'file', data: big } } } },
          },
          many: { type: 'dir', children: many },
        },
      },
    });
    assert.equal((await f.cli(['enable', '--yes'])).code, 0);
    const backup = await f.cli(['backup']);
    assert.equal(backup.code, 0, backup.stderr);
    const context = await newContext(f.browser);
    page = await context.newPage();
    await f.signInBrowser(page);
    await page.getByRole('link', { name: 'Browse and restore' }).click();
    await page.getByRole('heading', { name: 'Browse and restore' }).waitFor();
  });
  after(() => f?.close());

  /** download clicks a file's Download button and returns the bytes the browser saved. */
  async function download(name: string): Promise<Buffer> {
    const saved = page.waitForEvent('download');
    await page.getByRole('button', { name: `Download ${name}`, exact: true }).click();
    const file = await (await saved).path();
    await page
      .getByRole('status')
      .getByText(`Restored ${name}: decrypted and verified in this browser.`)
      .waitFor();
    return readFile(file);
  }

  it('lists the snapshots and opens the source of the latest', async () => {
    const snapshots = (await f.json(['snapshots', '--json'])) as unknown[];
    const timeline = page.getByRole('navigation', { name: 'Snapshots' });
    assert.equal(await timeline.getByRole('listitem').count(), snapshots.length);
    await timeline.getByRole('button').first().click();
    await page.getByRole('button', { name: `📁 ${join(f.home, 'Documents')}` }).click();
    await page.locator('[data-entry="letter.txt"]').waitFor();
  });

  it('downloads a compressed text file with the same bytes', async () => {
    assert.equal((await download('letter.txt')).toString(), letter);
  });

  it('goes down a nested folder and downloads a file of several chunks with the same bytes', async () => {
    await page.getByRole('button', { name: '📁 taxes' }).click();
    await page.getByRole('button', { name: '📁 2026' }).click();
    const restored = await download('scan.pdf');
    assert.equal(restored.length, big.length);
    assert.ok(restored.equals(big), 'the restored file is byte for byte the original');
    await page
      .getByRole('navigation', { name: 'Folder path' })
      .getByRole('button', { name: 'taxes' })
      .click();
    await page.getByRole('button', { name: '📁 2026' }).waitFor();
  });

  it('opens a folder of 10,000 entries and filters it by name', async () => {
    await page
      .getByRole('navigation', { name: 'Folder path' })
      .getByRole('button', { name: join(f.home, 'Documents') })
      .click();
    const started = Date.now();
    await page.getByRole('button', { name: '📁 many' }).click();
    await page.getByText(`${MANY} items`).waitFor();
    const ms = Date.now() - started;
    console.log(`# a ${MANY}-entry folder: opened, decrypted and shown in ${ms} ms`);
    await page.getByLabel('Filter by name').fill('note-0999');
    await page.getByText(`10 of ${MANY} items`).waitFor();
    assert.equal((await download('note-09990.txt')).toString(), 'note 9990\n');
  });
});
