/**
 * The server notices silence and expires abandoned backups, on a fake clock: real
 * backups of a tree with a canary path, real outcome reports, the checks run as the
 * scheduler runs them, and the notices received by a local SMTP sink and webhook
 * receivers.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Reason } from '../../src/api/devices.ts';
import { reportBackup } from '../../src/api/devices.ts';
import { pinDevice, pinSnapshot } from '../../src/api/lifecycle.ts';
import * as api from '../../src/api/notifications.ts';
import type { DeviceState } from '../../src/client/device-state.ts';
import { DAY_MS } from '../../src/server/notify/lifecycle-rules.ts';
import {
  type HookReceiver,
  type SmtpSink,
  startHookReceiver,
  startSmtpSink,
} from '../helpers/notify-sinks.ts';
import { findPostgres, NO_POSTGRES, startPostgres, type TestPostgres } from '../helpers/postgres.ts';
import { writeTree } from '../helpers/trees.ts';
import { clientOf, startTestServer, type TestServer } from './helpers.ts';
import {
  backUp,
  newAccount,
  randomTree,
  secondDevice,
  storeOf,
  type TestDevice,
} from './repository-helpers.ts';

const CANARY = 'canary-7f3a-tax-returns';
const HOUR_MS = 3_600_000;

/** The suite runs on each server database: its SQL is the portable subset both engines run. */
const ENGINES = [
  { name: 'SQLite', postgres: false, skip: undefined },
  { name: 'PostgreSQL', postgres: true, skip: findPostgres() === undefined ? NO_POSTGRES : undefined },
];

for (const engine of ENGINES)
  describe(`notices about silent devices and expiring backups (${engine.name})`, {
    skip: engine.skip,
  }, () => {
    let cluster: TestPostgres | undefined;
    let server: TestServer;
    let sink: SmtpSink;
    let hooks: HookReceiver;
    let broken: HookReceiver;

    before(async () => {
      sink = await startSmtpSink();
      hooks = await startHookReceiver();
      broken = await startHookReceiver();
      broken.status = 500;
      cluster = engine.postgres ? await startPostgres() : undefined;
      server = await startTestServer({
        config: {
          ...(cluster ? { databaseUrl: await cluster.database() } : {}),
          notifications: {
            smtp: { url: sink.url, from: 'cumulus@example.com' },
            webhookPrivateHosts: ['127.0.0.1'],
          },
        },
        deliveryPolicy: { timeoutMs: 5_000, retryDelaysMs: [10] },
      });
    });
    after(async () => {
      await server.close();
      await Promise.all([sink.close(), hooks.close(), broken.close()]);
      await cluster?.stop();
    });

    function report(state: DeviceState, outcome: 'success' | 'failed', reason?: Reason) {
      return clientOf(state).call(reportBackup, {
        body: {
          attemptAt: new Date(server.clock.now()).toISOString(),
          outcome,
          ...(reason ? { reason } : {}),
        },
      });
    }

    /** backUpAndReport backs up a tree holding the canary path and reports the success, as the agent does. */
    async function backUpAndReport(device: TestDevice, tree: string) {
      await backUp(device, [tree]);
      await report(device.state, 'success');
    }

    async function canaryTree(): Promise<string> {
      const tree = await randomTree(2, 2000, 7);
      writeTree(tree, {
        [CANARY]: { type: 'dir', children: { [`${CANARY}.pdf`]: { type: 'file', data: 'x' } } },
      });
      return tree;
    }

    /** runFor runs the silence check every `everyMs` for `ms`, as the scheduler would. */
    async function runFor(ms: number, everyMs: number, check: (now: number) => Promise<unknown>) {
      for (let t = 0; t < ms; t += everyMs) {
        server.clock.advance(everyMs);
        await check(server.clock.now());
      }
    }

    const silence = (now: number) => server.services.lifecycle.checkSilence(now);
    const mailsTo = (address: string) => sink.mails.filter((m) => m.to.includes(address));

    it('tells the account once by e-mail and webhook when a device stops, reminds it after the window, and says when it resumes', async () => {
      const laptop = await newAccount(server, 'alice@example.com', 'laptop');
      const phone = await secondDevice(server, laptop.state, 'phone');
      const tree = await canaryTree();
      const ntfy = await clientOf(laptop.state).call(api.addWebhook, {
        body: { url: `${hooks.url}/alice-backups`, preset: 'ntfy' },
      });
      const failing = await clientOf(laptop.state).call(api.addWebhook, {
        body: { url: `${broken.url}/hook`, preset: 'json' },
      });
      assert.equal(ntfy.target, `${hooks.url}/…`, 'the topic is not shown');

      // A week of daily backups: nothing to tell.
      for (let day = 0; day < 7; day++) {
        await backUpAndReport(laptop, tree);
        await report(phone.state, 'success');
        await runFor(DAY_MS, 6 * HOUR_MS, silence);
      }
      assert.equal(mailsTo('alice@example.com').length, 0);
      assert.equal(hooks.calls.length, 0);

      // The laptop stops: its last attempt waited on battery. The phone goes on.
      await report(laptop.state, 'failed', { codes: ['power'], values: { batteryPercent: 12 } });
      for (let day = 0; day < 8; day++) {
        await report(phone.state, 'success');
        await runFor(DAY_MS, 6 * HOUR_MS, silence);
      }
      // Silent for 9 days: one notice at 3 days, none more within the 7-day reminder window.
      const mails = mailsTo('alice@example.com');
      assert.equal(mails.length, 1, mails.map((m) => m.subject).join('\n'));
      assert.match(mails[0].subject, /laptop has not backed up for 3 days/);
      assert.match(mails[0].text, /Reason codes: power/);
      assert.match(mails[0].text, /on battery \(12%\)/);
      assert.ok(!mails[0].text.includes(CANARY), 'no path in the e-mail');
      assert.equal(hooks.calls.length, 1);
      assert.equal(hooks.calls[0].path, '/', 'ntfy is published to its root');
      assert.equal(hooks.calls[0].body.topic, 'alice-backups');
      assert.match(String(hooks.calls[0].body.message), /laptop has not backed up for 3 days: on battery/);
      assert.ok(!JSON.stringify(hooks.calls).includes(CANARY), 'no path in the webhook');
      assert.equal(broken.calls.length, 2, 'the failing hook was tried once more, then given up');

      const settings = await clientOf(phone.state).call(api.getNotifications, {});
      assert.deepEqual(settings.email.status.ok, true);
      const failed = settings.webhooks.find((w) => w.id === failing.id)!;
      assert.deepEqual([failed.status.ok, failed.status.error], [false, 'http_500']);

      // The phone's banner and status see the laptop.
      const { alerts } = await clientOf(phone.state).call(api.listAlerts, {});
      assert.equal(alerts.length, 1);
      assert.deepEqual(
        [alerts[0].name, alerts[0].current, alerts[0].reason.codes],
        ['laptop', false, ['power']],
      );
      assert.ok(alerts[0].silentDays >= 9);

      // The window ends: one reminder.
      await report(phone.state, 'success');
      await runFor(DAY_MS, 6 * HOUR_MS, silence);
      assert.equal(mailsTo('alice@example.com').length, 2);
      assert.match(mailsTo('alice@example.com')[1].text, /Still: laptop has not backed up for 10 days/);

      // It backs up again: one recovery notice, and the banner is gone.
      server.clock.advance(HOUR_MS);
      await backUpAndReport(laptop, tree);
      await report(phone.state, 'success');
      await runFor(DAY_MS, 6 * HOUR_MS, silence);
      const last = mailsTo('alice@example.com');
      assert.equal(last.length, 3, last.map((m) => m.subject).join('\n'));
      assert.match(last[2].subject, /laptop is backing up again/);
      assert.equal(hooks.calls.length, 3, hooks.calls.map((c) => c.body.title).join('\n'));
      assert.match(String(hooks.calls[2].body.title), /laptop is backing up again/);
      assert.deepEqual((await clientOf(phone.state).call(api.listAlerts, {})).alerts, []);
      assert.ok(!sink.mails.some((m) => m.text.includes(CANARY)));
    });

    /** daysOfExpiry runs the expiry check once a day for `days` days and returns the day of each e-mail to `address`. */
    async function daysOfExpiry(days: number, address: string, fromDay = 0): Promise<[number, string][]> {
      const seen = mailsTo(address).length;
      const found: [number, string][] = [];
      for (let day = fromDay + 1; day <= fromDay + days; day++) {
        server.clock.advance(DAY_MS);
        await server.services.lifecycle.checkExpiry(server.clock.now());
        for (const mail of mailsTo(address).slice(seen + found.length)) found.push([day, mail.subject]);
      }
      return found;
    }

    async function snapshotDevices(accountId: string): Promise<string[]> {
      const snapshots = await (await storeOf(server, accountId)).store.listSnapshots();
      return [...new Set(snapshots.map((s) => s.device))].sort();
    }

    it('announces the deletion of an abandoned device 30 and 7 days before, deletes it at 180 days, and keeps a pinned one or one with a pinned backup', async () => {
      const old = await newAccount(server, 'bob@example.com', 'old-pc');
      const kept = await secondDevice(server, old.state, 'kept-pc');
      const onePinned = await secondDevice(server, old.state, 'one-pinned');
      await clientOf(kept.state).call(pinDevice, { params: { deviceId: kept.state.deviceId } });
      const tree = await canaryTree();
      await backUpAndReport(old, tree);
      await backUpAndReport(kept, tree);
      await backUpAndReport(onePinned, tree);
      const accountId = old.state.accountId;
      const snapshots = await (await storeOf(server, accountId)).store.listSnapshots();
      const backup = snapshots.find((s) => s.device === onePinned.state.deviceId)!;
      await clientOf(old.state).call(pinSnapshot, { params: { snapshotId: backup.id } });
      const keptDevices = [kept.state.deviceId, onePinned.state.deviceId].sort();
      assert.deepEqual(await snapshotDevices(accountId), [old.state.deviceId, ...keptDevices].sort());
      const deletesOn = new Date(server.clock.now() + 180 * DAY_MS).toISOString().slice(0, 10);

      const mails = await daysOfExpiry(181, 'bob@example.com');
      assert.deepEqual(mails, [
        [150, `Cumulus: The backups of old-pc will be deleted on ${deletesOn}`],
        [173, `Cumulus: The backups of old-pc will be deleted on ${deletesOn}`],
        [180, 'Cumulus: The backups of old-pc were deleted'],
      ]);
      assert.deepEqual(
        await snapshotDevices(accountId),
        keptDevices,
        'a pinned device, or one pinned backup, keeps them',
      );
      assert.ok(!sink.mails.some((m) => m.text.includes(CANARY)));
    });

    it('waits with the deletion while no notice can be delivered, and then still gives 30 days', async () => {
      const pc = await newAccount(server, 'carol@example.com', 'carol-pc');
      const client = clientOf(pc.state);
      await client.call(api.updateNotifications, { body: { email: false } });
      const receiver = await startHookReceiver();
      try {
        receiver.status = 503;
        await client
          .call(api.addWebhook, { body: { url: `${receiver.url}/carol`, preset: 'gotify' } })
          .catch((error: Error) => assert.match(error.message, /Gotify URL/));
        await client.call(api.addWebhook, {
          body: { url: `${receiver.url}/message?token=t0k3n`, preset: 'gotify' },
        });
        await backUpAndReport(pc, await canaryTree());
        const accountId = pc.state.accountId;

        for (let day = 1; day <= 200; day++) {
          server.clock.advance(DAY_MS);
          await server.services.lifecycle.checkExpiry(server.clock.now());
        }
        assert.ok(receiver.calls.length > 0, 'the notices were tried');
        assert.deepEqual(
          await snapshotDevices(accountId),
          [pc.state.deviceId],
          'nothing deleted without notice',
        );
        // Its session went idle long ago: ask the service as the device would.
        const caller = {
          accountId,
          deviceId: pc.state.deviceId,
          sessionId: 'gone',
          role: 'user' as const,
          ip: '::1',
        };
        const alerts = await server.services.lifecycle.alerts(caller);
        assert.equal(alerts[0].reason.codes[0], 'no-report');
        assert.ok(Date.parse(alerts[0].deletesAt!) >= server.clock.now() + 30 * DAY_MS - 1);

        // The hook works again: the first notice now, the last 23 days later, the deletion 30 days after the first.
        receiver.status = 200;
        receiver.calls.length = 0;
        const deletedBy: number[] = [];
        for (let day = 1; day <= 32; day++) {
          server.clock.advance(DAY_MS);
          await server.services.lifecycle.checkExpiry(server.clock.now());
          if ((await snapshotDevices(accountId)).length === 0) deletedBy.push(day);
        }
        assert.deepEqual(
          receiver.calls.map((c) => String(c.body.title).replace(/ on .*/, '')),
          [
            'The backups of carol-pc will be deleted',
            'The backups of carol-pc will be deleted',
            'The backups of carol-pc were deleted',
          ],
        );
        assert.equal(deletedBy[0], 31, '30 days after the first notice, delivered on day 1');
        assert.equal(receiver.calls[0].path, '/message?token=t0k3n');
        assert.equal(receiver.calls[0].body.priority, 8);
      } finally {
        await receiver.close();
      }
    });
  });
