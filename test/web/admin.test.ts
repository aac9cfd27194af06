/**
 * The admin pages in Chromium against a real server, checked with the real CLI and the
 * public pages: an admin invites a user, who signs up with `cumulus login --invite`; sets
 * the user's plan and edits a plan's quota; disables and enables the user; declares,
 * updates and resolves an incident that System Status shows; publishes a release; reads the
 * audit log and the server health. A user who is not an admin sees no admin page, and the
 * server refuses them every admin route.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { KDF_FLOOR_N } from '../../src/api/common.ts';
import { runCumulus } from '../helpers/cli.ts';
import { request } from '../server/helpers.ts';
import { newContext } from './browser.ts';
import { type ConsoleFixture, startConsoleFixture } from './fixture.ts';

const NIA = 'nia@example.com';
const NIA_PASSWORD = 'nia chose this';

describe('console: admin', () => {
  let f: ConsoleFixture;
  let page: Page;
  let nia: Record<string, string>;
  let niaRecoveryKey: string;

  before(async () => {
    f = await startConsoleFixture('admin-laptop', { role: 'admin' });
    nia = {
      CUMULUS_CONFIG_DIR: join(f.dir, 'nia'),
      HOME: join(f.dir, 'nia'),
      CUMULUS_PASSWORD: NIA_PASSWORD,
      // The browser refuses a cheaper stretch than the floor, so the new account is made at it.
      CUMULUS_KDF_COST: String(KDF_FLOOR_N),
    };
    page = await (await newContext(f.browser)).newPage();
    await f.signInBrowser(page, 'Admin browser');
  });
  after(() => f?.close());

  const region = (name: string) => page.getByRole('region', { name });
  const adminSection = async (label: string) => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Admin' }).click();
    await page.getByRole('navigation', { name: 'Admin' }).getByRole('link', { name: label }).click();
    await page.getByRole('heading', { name: `Admin: ${label}` }).waitFor();
  };
  const niaId = () => f.server.services.accounts.idByEmail(NIA);

  it('invites a user, who signs up with `cumulus login --invite` and their own password', async () => {
    await adminSection('Users');
    const card = region('Invite a user');
    await card.getByLabel('Email of the new user').fill(NIA);
    await card.getByRole('button', { name: 'Invite' }).click();
    const command = (await card.getByTestId('invite-command').textContent())!.trim();
    assert.match(command, new RegExp(`^cumulus login ${f.server.url} --email ${NIA} --invite \\S+$`));
    const signUp = await runCumulus(command.split(' ').slice(1), nia);
    assert.equal(signUp.code, 0, signUp.stderr);
    assert.match(signUp.stdout, /signed in as nia@example.com/);
    niaRecoveryKey = /recovery key is:\s+(\S+)/.exec(signUp.stdout)![1];
    await adminSection('Plans');
    await adminSection('Users');
    await region('Users').locator(`[data-user="${NIA}"]`).waitFor();
  });

  it("changes a user's plan and a plan's quota", async () => {
    await region('Users').getByLabel(`Plan of ${NIA}`).selectOption('200gb');
    await region('Users')
      .getByRole('status')
      .getByText(/on the plan 200gb/)
      .waitFor();
    assert.equal((await f.server.services.plans.planOf(await niaId())).id, '200gb');
    const shown = await runCumulus(['plan', 'show', '--json'], nia);
    assert.equal(JSON.parse(shown.stdout).plan.id, '200gb', shown.stderr);

    await adminSection('Plans');
    await region('Plans').getByRole('button', { name: 'Edit 200 GB' }).click();
    const form = region('Edit 200 GB');
    await form.getByLabel('Quota').fill('250');
    await form.getByLabel('Offered: users may switch to it themselves').check();
    await form.getByRole('button', { name: 'Save plan' }).click();
    await page
      .getByRole('status')
      .getByText(/Saved the plan 200 GB \(250 GB\)/)
      .waitFor();
    const plan = await f.server.services.plans.get('200gb');
    assert.deepEqual([plan.quotaBytes, plan.offered], [250e9, true]);
    await region('Plans').locator('[data-plan="200gb"] [data-field="quota"]').getByText('250 GB').waitFor();
  });

  it('disables a user after a confirmation (their CLI is signed out) and enables them again', async () => {
    await adminSection('Users');
    await region('Users')
      .getByRole('button', { name: `Disable ${NIA}` })
      .click();
    await page
      .getByRole('dialog', { name: `Disable ${NIA}?` })
      .getByRole('button', { name: 'Disable' })
      .click();
    await region('Users')
      .getByRole('button', { name: `Enable ${NIA}` })
      .waitFor();
    const refused = await runCumulus(['devices', 'list', '--json'], nia);
    assert.notEqual(refused.code, 0);
    await region('Users')
      .getByRole('button', { name: `Enable ${NIA}` })
      .click();
    await region('Users')
      .getByRole('button', { name: `Disable ${NIA}` })
      .waitFor();
    // Disabling signed every device out: Nia signs in anew, with no device left to approve it.
    nia = { ...nia, CUMULUS_CONFIG_DIR: join(f.dir, 'nia-again') };
    const again = await runCumulus(
      ['login', f.server.url, '--email', NIA, '--recovery-key'],
      nia,
      `${niaRecoveryKey}\n`,
    );
    assert.equal(again.code, 0, again.stderr);
  });

  it('declares an incident that System Status shows, updates it and resolves it', async () => {
    await adminSection('Incidents');
    const card = region('Declare an incident or maintenance');
    await card.getByLabel('Title').fill('Uploads are slow');
    await card.getByLabel('Message', { exact: true }).fill('We are looking into it.');
    await card.getByLabel('Backup uploads').check();
    await card.getByRole('button', { name: 'Declare' }).click();
    await card
      .getByRole('status')
      .getByText(/Declared Uploads are slow/)
      .waitFor();

    const status = await (await newContext(f.browser)).newPage();
    await status.goto(`${f.server.url}/system-status`);
    await status.getByText('Uploads are slow').first().waitFor();
    await status.getByText('We are looking into it.').first().waitFor();
    assert.equal(
      await status.locator('[data-component="backup_uploads"] .component-state').textContent(),
      'Outage',
    );

    const list = region('Incidents and maintenance');
    await list.getByRole('button', { name: 'Update Uploads are slow' }).click();
    await list.getByLabel('New message').fill('A disk is being replaced.');
    await list.getByLabel('Severity').selectOption('minor');
    await list.getByRole('button', { name: 'Save update' }).click();
    await list.getByText('A disk is being replaced.').waitFor();
    await status.reload();
    await status.getByText('A disk is being replaced.').first().waitFor();
    assert.equal(
      await status.locator('[data-component="backup_uploads"] .component-state').textContent(),
      'Degraded',
    );

    await list.getByRole('button', { name: 'Resolve Uploads are slow' }).click();
    await page
      .getByRole('dialog', { name: 'Resolve Uploads are slow?' })
      .getByRole('button', { name: 'Resolve' })
      .click();
    await list.getByRole('status').getByText('Uploads are slow is resolved.').waitFor();
    await list.getByRole('button', { name: 'Resolve Uploads are slow' }).waitFor({ state: 'detached' });
    await status.reload();
    await status.getByText('All systems operational').waitFor();
    await status.context().close();
  });

  it('publishes a release with a minimum version, and shows the audit log and the server health', async () => {
    await adminSection('Releases');
    const form = region('Publish a release');
    await form.getByLabel('Version', { exact: true }).fill('9.1.0');
    await form.getByLabel('Minimum version agents must run').fill('0.1.0');
    await form.getByLabel('Release notes').fill('Faster restores.');
    await form.getByRole('button', { name: 'Publish' }).click();
    await region('Releases')
      .getByTestId('minimum-version')
      .getByText('Latest 9.1.0; minimum version 0.1.0.')
      .waitFor();
    const latest = await request(f.server.url, 'GET', '/api/agent/latest');
    assert.equal(latest.body.latest.version, '9.1.0');

    await adminSection('Audit log');
    const audit = region('Audit log');
    for (const event of [
      'release_published',
      'incident_resolved',
      'incident_updated',
      'account_disabled',
      'plan_changed',
    ]) {
      await audit.locator(`[data-event="${event}"]`).first().waitFor();
    }

    await adminSection('Server health');
    const health = region('Server health');
    await health
      .locator('[data-field="database"]')
      .getByText(/^SQLite, \d/)
      .waitFor();
    await health.locator('[data-field="disk-free"]').getByText(/ of /).waitFor();
    await health.locator('[data-job="gc"]').waitFor();
  });

  it('shows a user who is not an admin no admin page, and the server refuses them every admin route', async () => {
    const other = await (await newContext(f.browser)).newPage();
    await other.goto(f.server.url);
    await other.getByLabel('Email').fill(NIA);
    await other.getByLabel('Password').fill(NIA_PASSWORD);
    await other.getByLabel('Name of this browser').fill('Nia browser');
    await other.getByRole('button', { name: 'Sign in' }).click();
    await other.getByRole('heading', { name: 'Approve this browser' }).waitFor();
    const approve = await runCumulus(['approve', '--json'], nia);
    const code = JSON.parse(approve.stdout).approvals.find(
      (a: { deviceName: string }) => a.deviceName === 'Nia browser',
    ).code;
    await other.getByLabel('6-digit code').fill(code);
    await other.getByRole('button', { name: 'Approve' }).click();
    await other.getByRole('heading', { name: 'Devices' }).waitFor();
    assert.equal(await other.getByRole('link', { name: 'Admin' }).count(), 0);
    // Straight to an admin path, in the page (a reload would end the session).
    await other.evaluate(
      "history.pushState(null, '', '/admin/users'); dispatchEvent(new PopStateEvent('popstate'))",
    );
    await other.getByText("This part of the console is for the server's admins.").waitFor();
    await other.context().close();

    const { token } = JSON.parse(await readFile(join(nia.CUMULUS_CONFIG_DIR, 'device.json'), 'utf8'));
    for (const [method, path, json] of [
      ['GET', '/api/admin/users', undefined],
      ['GET', '/api/admin/health', undefined],
      ['POST', '/api/admin/invites', { email: 'x@example.com' }],
      ['PATCH', `/api/admin/incidents/${'a'.repeat(32)}`, { title: 'x' }],
    ] as const) {
      const answer = await request(f.server.url, method, path, { token, json });
      assert.equal(answer.status, 403, `${method} ${path}`);
    }
  });
});
