/**
 * Makes the README's console screenshots (docs/console-*.png) against a real server with a
 * CLI device that has backed up: `npm run build:web && npx node test/web/screenshots.ts`.
 * Not a test: a picture for people, made the way the browser tests drive the console.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { LOCAL_ADMIN } from '../../src/server/services/caller.ts';
import { cumulusAsync } from '../helpers/cli.ts';
import { writeTree } from '../helpers/trees.ts';
import { createAccount } from '../server/helpers.ts';
import { newContext } from './browser.ts';
import { startConsoleFixture } from './fixture.ts';

const DOCS = resolve(import.meta.dirname, '../../docs');
// The owner is the server's admin, as on a family's server, so the admin pages are in the pictures.
const f = await startConsoleFixture('laptop', { role: 'admin' });
let agent: ChildProcess | undefined;
/** stopAgent ends the agent and waits for it, so nothing writes into the folders being removed. */
const stopAgent = async () => {
  if (!agent || agent.exitCode !== null) return;
  const stopped = new Promise((resolve) => agent!.on('exit', resolve));
  agent.kill('SIGTERM');
  await stopped;
};
try {
  writeTree(f.home, {
    Documents: {
      type: 'dir',
      children: { 'letter.txt': { type: 'file', data: 'Dear owner,\n'.repeat(40_000) } },
    },
    Pictures: { type: 'dir', children: { 'cat.jpg': { type: 'file', data: randomBytes(3_000_000) } } },
  });
  assert.equal((await f.cli(['enable', '--yes'])).code, 0);
  assert.equal((await f.cli(['backup'])).code, 0);
  // The doctor's result for the troubleshooter, and the agent, which syncs the switch and the next due time.
  await f.cli(['doctor']);
  agent = cumulusAsync(['agent', 'run'], f.env);
  const desktop = await (await newContext(f.browser)).newPage();
  await f.signInBrowser(desktop, 'Web console');
  const card = desktop.locator('[data-device="laptop"]');
  await card
    .locator('[data-field="backup-state"]')
    .getByText(/^· on since /)
    .waitFor({ timeout: 60_000 });
  await card
    .locator('[data-field="troubleshooter"] summary')
    .getByText(/checked/)
    .waitFor({ timeout: 90_000 });
  await desktop.screenshot({ path: `${DOCS}/console-devices.png`, fullPage: true });
  await card.locator('[data-field="troubleshooter"] summary').click();
  await card.locator('[data-check="power"]').waitFor();
  await desktop.screenshot({ path: `${DOCS}/console-troubleshooter.png`, fullPage: true });
  await stopAgent();
  await desktop.getByRole('link', { name: 'Account' }).click();
  await desktop.locator('[data-session]').first().waitFor();
  await desktop.screenshot({ path: `${DOCS}/console-account.png`, fullPage: true });
  await createAccount(f.server, 'kid@example.com', 'kid password');
  await f.server.services.incidents.declare(LOCAL_ADMIN, {
    kind: 'maintenance',
    title: 'Disk replacement',
    message: 'Backups pause for about an hour.',
    components: ['backup_uploads'],
  });
  await desktop.getByRole('link', { name: 'Admin' }).click();
  await desktop.locator('[data-user="kid@example.com"]').waitFor();
  await desktop.screenshot({ path: `${DOCS}/console-admin-users.png`, fullPage: true });
  const phone = await (await newContext(f.browser, { phone: true, dark: true })).newPage();
  await f.signInBrowser(phone, 'Phone');
  await phone.getByRole('link', { name: 'Storage' }).click();
  await phone.getByRole('heading', { name: 'Plan' }).waitFor();
  await phone.getByText('Pictures').first().waitFor();
  await phone.screenshot({ path: `${DOCS}/console-storage-phone.png`, fullPage: true });
  await phone.getByRole('link', { name: 'Account' }).click();
  await phone.locator('[data-session]').first().waitFor();
  await phone.screenshot({ path: `${DOCS}/console-account-phone.png`, fullPage: true });
  await phone.getByRole('link', { name: 'Admin' }).click();
  await phone.getByRole('navigation', { name: 'Admin' }).getByRole('link', { name: 'Incidents' }).click();
  await phone.locator('[data-incident="Disk replacement"]').waitFor();
  await phone.screenshot({ path: `${DOCS}/console-admin-incidents-phone.png`, fullPage: true });
} finally {
  await stopAgent();
  await f.close();
}
