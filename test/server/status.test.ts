/**
 * The status page from live probes: green on a healthy server, red for blob storage (and
 * uploads and restores) when the accounts folder cannot be written, amber or red while an
 * admin-declared incident or maintenance is open, with history; and the load balancer's
 * liveness and readiness answers.
 *
 * Tests run as root, for whom a read-only mode does not stop a write; so "the folder
 * becomes unwritable" is made by replacing DATA/accounts with a plain file: every write
 * under it fails with ENOTDIR/EEXIST, whoever the user is.
 */
import assert from 'node:assert/strict';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type ComponentId, getStatus, type StatusReport } from '../../src/api/status.ts';
import { AccountClient } from '../../src/client/account-client.ts';
import { LOCAL_ADMIN } from '../../src/server/services/caller.ts';
import { request, startTestServer, type TestServer } from './helpers.ts';

function lights(report: StatusReport): Record<string, string> {
  return Object.fromEntries(report.components.map((c) => [c.id, c.status]));
}

function detailOf(report: StatusReport, id: ComponentId): string {
  return report.components.find((c) => c.id === id)!.detail;
}

describe('status', () => {
  let server: TestServer;
  const status = () => new AccountClient({ serverUrl: server.url }).call(getStatus, {});
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  it('is green from live probes, as JSON and as a page', async () => {
    const report = await status();
    assert.equal(report.status, 'green');
    assert.deepEqual(lights(report), {
      sign_in: 'green',
      backup_uploads: 'green',
      restore_downloads: 'green',
      database: 'green',
      blob_storage: 'green',
    });
    const page = await request(server.url, 'GET', '/status');
    assert.match(page.headers.get('content-type')!, /text\/html/);
    assert.match(page.body, /data-status="green"/);
    assert.match(page.body, /Blob storage/);
  });

  it('shows each maintenance job with its last run and outcome, as JSON and on the page', async () => {
    await server.services.maintenance.runNow('gc');
    const gc = (await status()).maintenance.find((job) => job.name === 'gc');
    assert.equal(gc?.lastRun?.outcome, 'ok');
    assert.deepEqual(Object.keys(gc?.lastRun?.numbers ?? {}).sort(), [
      'accounts',
      'deletedPacks',
      'freedBytes',
      'repackedPacks',
    ]);
    const page = await request(server.url, 'GET', '/status');
    assert.match(page.body, /<tr data-job="gc"><td>gc<\/td><td>[^<]+<\/td><td>ok: accounts \d+/);
  });

  it('turns blob storage, uploads and restores red when the accounts folder cannot be written, and green again after', async () => {
    const accounts = join(server.dataDir, 'accounts');
    await rm(accounts, { recursive: true, force: true });
    await writeFile(accounts, 'not a folder');
    try {
      const report = await status();
      assert.equal(report.status, 'red');
      const byId = lights(report);
      assert.equal(byId.blob_storage, 'red');
      assert.equal(byId.backup_uploads, 'red');
      assert.equal(byId.restore_downloads, 'red');
      assert.equal(byId.database, 'green');
      assert.equal(byId.sign_in, 'green');
      assert.match(detailOf(report, 'blob_storage'), /blob storage failed/);
      const page = await request(server.url, 'GET', '/status');
      assert.match(page.body, /data-status="red"/);
      const ready = await request(server.url, 'GET', '/api/health/ready');
      assert.equal(ready.status, 503, 'a replica that cannot store packs leaves the load balancer');
      assert.equal(ready.body.error.code, 'unavailable');
      assert.match(ready.body.error.message, /blob storage failed/);
      assert.equal((await request(server.url, 'GET', '/api/health/live')).status, 200);
    } finally {
      await rm(accounts, { force: true });
      await mkdir(accounts);
    }
    assert.equal((await status()).status, 'green');
    const ready = await request(server.url, 'GET', '/api/health/ready');
    assert.equal(ready.status, 200);
    assert.deepEqual(
      { ...ready.body, checkedAt: undefined },
      { status: 'ready', database: 'green', blobStorage: 'green', checkedAt: undefined },
    );
  });

  it('shows declared incidents and maintenance on the components they name, then in the history', async () => {
    const incidents = server.services.incidents;
    const outage = await incidents.declare(LOCAL_ADMIN, {
      title: 'Uploads stall',
      components: ['backup_uploads'],
    });
    const later = new Date(server.clock.now() + 3_600_000).toISOString();
    await incidents.declare(LOCAL_ADMIN, {
      kind: 'maintenance',
      title: 'Disk swap',
      components: ['blob_storage'],
      startsAt: later,
      endsAt: new Date(server.clock.now() + 7_200_000).toISOString(),
    });
    let report = await status();
    assert.equal(lights(report).backup_uploads, 'red', 'a major incident is red');
    assert.equal(lights(report).blob_storage, 'green', 'maintenance announced for later changes nothing yet');
    assert.deepEqual(
      report.active.map((i) => i.title),
      ['Uploads stall'],
    );
    assert.deepEqual(
      report.upcoming.map((i) => i.title),
      ['Disk swap'],
    );

    server.clock.advance(3_600_000 + 1);
    report = await status();
    assert.equal(lights(report).blob_storage, 'amber', 'maintenance in progress is amber');
    assert.match(detailOf(report, 'blob_storage'), /maintenance: Disk swap/);

    await incidents.resolve(LOCAL_ADMIN, outage.id);
    server.clock.advance(3_600_000);
    report = await status();
    assert.equal(report.status, 'green');
    assert.deepEqual(report.history.map((i) => i.title).sort(), ['Disk swap', 'Uploads stall']);
    const page = await request(server.url, 'GET', '/status');
    assert.match(page.body, /History/);
    assert.match(page.body, /Uploads stall/);
  });

  it('escapes what an admin typed on the page', async () => {
    await server.services.incidents.declare(LOCAL_ADMIN, {
      title: '<script>alert(1)</script>',
      severity: 'minor',
      components: ['sign_in'],
    });
    const page = await request(server.url, 'GET', '/status');
    assert.ok(!page.body.includes('<script>alert(1)</script>'));
    assert.match(page.body, /&#60;script&#62;/);
  });
});
