/**
 * Notifications end to end: a real server process with its mail relay and webhook
 * exception set in the environment, the real `cumulus` command on two devices, a local
 * SMTP sink and a webhook receiver. A test-send reaches both; a laptop whose last backup
 * is 4 days old is noticed by the server's scheduled silence check (once, by e-mail and
 * webhook), and `cumulus status` on the phone names it.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadDeviceState } from '../../src/client/device-state.ts';
import {
  type CliResult,
  runCumulus,
  type ServerProcess,
  serveDataFolder,
  startServerProcess,
} from '../helpers/cli.ts';
import {
  type HookReceiver,
  type SmtpSink,
  startHookReceiver,
  startSmtpSink,
} from '../helpers/notify-sinks.ts';
import { request } from '../server/helpers.ts';

const PASSWORD = 'notifications password';
const DAY_MS = 86_400_000;

/** waitFor polls until `check` holds (the scheduler runs on its own timer), for at most a minute. */
async function waitFor(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 600 && !check(); i++) await sleep(100);
  assert.ok(check(), `timed out waiting for ${what}`);
}

describe('notifications through a server process and the CLI', () => {
  let work: string;
  let data: string;
  let sink: SmtpSink;
  let hooks: HookReceiver;
  let server: ServerProcess;
  let env: Record<string, string>;
  const laptop = () => join(work, 'laptop');
  const phone = () => join(work, 'phone');
  const cumulus = (device: string, args: string[], input = ''): Promise<CliResult> =>
    runCumulus(args, { CUMULUS_CONFIG_DIR: device, CUMULUS_PASSWORD: PASSWORD }, input);

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'cumulus-notify-'));
    data = join(work, 'data');
    sink = await startSmtpSink();
    hooks = await startHookReceiver();
    env = {
      CUMULUS_PASSWORD: PASSWORD,
      CUMULUS_SMTP_URL: sink.url,
      CUMULUS_SMTP_FROM: 'cumulus@example.com',
      CUMULUS_WEBHOOK_PRIVATE_HOSTS: '127.0.0.1',
    };
    server = await startServerProcess(data, 'owner@example.com', env);
  });
  after(async () => {
    await server?.stop();
    await Promise.all([sink.close(), hooks.close()]);
    await rm(work, { recursive: true, force: true });
  });

  it('sends a test notice by e-mail and webhook, and refuses a hook to a private address', async () => {
    const login = await cumulus(laptop(), [
      'login',
      server.url,
      '--email',
      'owner@example.com',
      '--device-name',
      'laptop',
      '--json',
    ]);
    assert.equal(login.code, 0, login.stderr);
    const { recoveryKey } = JSON.parse(login.stdout);
    const second = await cumulus(
      phone(),
      ['login', server.url, '--email', 'owner@example.com', '--device-name', 'phone', '--recovery-key'],
      `${recoveryKey}\n`,
    );
    assert.equal(second.code, 0, second.stderr);

    const added = await cumulus(laptop(), [
      'notifications',
      'add-webhook',
      `${hooks.url}/services/T0/B0/secret`,
      '--preset',
      'slack',
    ]);
    assert.equal(added.code, 0, added.stderr);
    assert.ok(!added.stdout.includes('secret'), 'the hook is shown up to its host');
    const refused = await cumulus(laptop(), ['notifications', 'add-webhook', 'http://10.0.0.1/hook']);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /private addresses/);

    const test = await cumulus(phone(), ['notifications', 'test']);
    assert.equal(test.code, 0, test.stderr);
    assert.match(test.stdout, /sent +e-mail +owner@example.com/);
    assert.equal(sink.mails.length, 1);
    assert.equal(sink.mails[0].subject, 'Cumulus: Cumulus test notice');
    assert.equal(hooks.calls.length, 1);
    assert.equal(hooks.calls[0].path, '/services/T0/B0/secret');
    assert.match(String(hooks.calls[0].body.text), /^\*Cumulus test notice\*/);

    const shown = await cumulus(laptop(), ['notifications']);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /E-mail: {8}on, to owner@example.com; last sent /);
    assert.match(shown.stdout, new RegExp(`slack +${hooks.url}/… +last sent `));
    assert.ok(!server.output().includes('secret'), 'the log never holds the hook URL');

    // A hook that fails (after its retries) is named, and does not stop the e-mail.
    hooks.status = 500;
    const failing = await cumulus(phone(), ['notifications', 'test']);
    hooks.status = 200;
    assert.equal(failing.code, 3, failing.stderr);
    assert.match(failing.stdout, /sent +e-mail/);
    assert.match(failing.stdout, /FAILED +[0-9a-f]{32} .*\(http_500\)/);
    assert.equal(sink.mails.length, 2);
    assert.match((await cumulus(laptop(), ['notifications'])).stdout, /FAILED \(http_500\)/);
    sink.mails.length = 0;
    hooks.calls.length = 0;
  });

  it("notices a laptop whose last backup is 4 days old, once, and the phone's status names it", async () => {
    const state = (await loadDeviceState(laptop()))!;
    // The laptop's agent reports a backup of 4 days ago, then a failed attempt.
    for (const [days, body] of [
      [4, { outcome: 'success' }],
      [
        1,
        {
          outcome: 'failed',
          reason: { codes: ['quota_exceeded'], values: { neededBytes: 2e9, freeBytes: 1e8 } },
        },
      ],
    ] as const) {
      const sent = await request(server.url, 'POST', '/api/device/report', {
        token: state.token,
        json: { attemptAt: new Date(Date.now() - days * DAY_MS).toISOString(), ...body },
      });
      assert.equal(sent.status, 200, JSON.stringify(sent.body));
    }
    // The silence check ran when the server started; as if an hour had passed, it is due on restart.
    const port = Number(new URL(server.url).port);
    await server.stop();
    const db = new DatabaseSync(join(data, 'server.sqlite'));
    db.prepare("UPDATE maintenance_runs SET started_at = started_at - 3600000 WHERE job = 'silence'").run();
    db.close();
    server = await serveDataFolder(data, env, 'warn', port);

    await waitFor('the silence notice', () => sink.mails.length === 1 && hooks.calls.length === 1);
    const mail = sink.mails[0];
    assert.equal(mail.subject, 'Cumulus: laptop has not backed up for 4 days');
    assert.match(mail.text, /storage full: needs 2\.0 GB, 100 MB free/);
    assert.match(mail.text, /Reason codes: quota_exceeded/);
    assert.match(String(hooks.calls[0].body.text), /laptop has not backed up for 4 days/);

    const status = await cumulus(phone(), ['status']);
    assert.match(status.stdout, /Attention: {4}laptop has not backed up for 4 days: storage full/);
    const own = await cumulus(laptop(), ['status']);
    assert.doesNotMatch(own.stdout, /Attention:/, 'a device is not told about itself');
    await sleep(1000);
    assert.equal(sink.mails.length, 1, 'one notice, not one per check');
  });
});
