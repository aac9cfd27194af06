/**
 * The lifecycle of an account's backups through the real `cumulus` command: pins, the
 * retention policy and the forecast on a real server process; and, on a server whose clock
 * a test moves, a few simulated days after which the server has thinned the backups by
 * itself and kept the pinned one.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type CliResult, runCumulus, type ServerProcess, startServerProcess } from '../helpers/cli.ts';
import { createAccount, startTestServer, type TestServer } from '../server/helpers.ts';

const PASSWORD = 'lifecycle password';

function cumulus(configDir: string, args: string[]): Promise<CliResult> {
  return runCumulus(args, {
    CUMULUS_CONFIG_DIR: configDir,
    CUMULUS_PASSWORD: PASSWORD,
    CUMULUS_REPOSITORY: '',
  });
}

function ok(result: CliResult): string {
  assert.equal(result.code, 0, result.stderr);
  return result.stdout;
}

describe('pins through the CLI and a server process', () => {
  let work: string;
  let server: ServerProcess;
  let device: string;
  let tree: string;
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'cumulus-lifecycle-'));
    server = await startServerProcess(join(work, 'data'), 'pins@example.com', { CUMULUS_PASSWORD: PASSWORD });
    device = join(work, 'laptop');
    tree = await mkdtemp(join(work, 'home-'));
    ok(
      await cumulus(device, ['login', server.url, '--email', 'pins@example.com', '--device-name', 'laptop']),
    );
  });
  after(async () => {
    await server.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('pins the latest snapshot (forget refuses it) and the device, and unpins them', async () => {
    await writeFile(join(tree, 'notes.txt'), 'first');
    ok(await cumulus(device, ['backup', tree]));
    await writeFile(join(tree, 'notes.txt'), 'second');
    ok(await cumulus(device, ['backup', tree]));

    assert.match(ok(await cumulus(device, ['snapshots', 'pin', 'latest'])), /^snapshot [0-9a-f]{8} pinned/);
    const listed = JSON.parse(ok(await cumulus(device, ['snapshots', '--json'])));
    assert.deepEqual(
      listed.map((s: { pinned: boolean }) => s.pinned),
      [false, true],
    );
    const pinned = listed[1].id as string;
    assert.match(ok(await cumulus(device, ['snapshots'])), new RegExp(`${pinned.slice(0, 8)} \\(pinned\\)`));
    const refused = await cumulus(device, ['forget', pinned]);
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /is pinned/);
    assert.match(refused.stderr, /cumulus snapshots unpin/);
    const notAnId = await cumulus(device, ['snapshots', 'pin', 'zz']);
    assert.equal(notAnId.code, 2);
    assert.match(notAnId.stderr, /not a snapshot ID/);
    ok(await cumulus(device, ['snapshots', 'unpin', pinned.slice(0, 6)]));
    ok(await cumulus(device, ['forget', pinned]));

    assert.match(
      ok(await cumulus(device, ['devices', 'pin', 'laptop'])),
      /"laptop" pinned: its backups never expire/,
    );
    assert.match(ok(await cumulus(device, ['devices', 'list'])), /pinned \(backups never expire\)/);
    assert.equal(JSON.parse(ok(await cumulus(device, ['devices', '--json']))).devices[0].pinned, true);
    ok(await cumulus(device, ['devices', 'unpin', 'laptop']));
    assert.doesNotMatch(ok(await cumulus(device, ['devices', 'list'])), /pinned/);
  });

  it('shows the retention policy in retention, storage and settings, and changes it for the account or a device', async () => {
    const DEFAULT =
      "Retention: every snapshot of the last 48 hours, one a day for 30 days, one a week for 26 weeks, one a month for 24 months, the newest always (the server's default)";
    assert.equal(ok(await cumulus(device, ['retention'])), `${DEFAULT}\n`);
    const storage = ok(await cumulus(device, ['storage']));
    assert.match(
      storage,
      new RegExp(`\n${literal(DEFAULT)}\nForecast: at this rate the plan does not fill within 10 years\n$`),
    );
    assert.match(
      ok(await cumulus(device, ['status'])),
      /\nForecast: {5}at this rate the plan does not fill within 10 years\n/,
    );
    assert.match(ok(await cumulus(device, ['settings', 'show'])), new RegExp(`\n${literal(DEFAULT)}\n`));

    assert.match(
      ok(await cumulus(device, ['retention', 'set', '--days', '60'])),
      /^Retention: every snapshot of the last 48 hours, one a day for 60 days, one a week for 26 weeks/,
    );
    const off = ok(await cumulus(device, ['retention', 'set', '--device', 'laptop', '--off']));
    assert.match(off, /\n {2}"laptop": off: every snapshot is kept\n/);
    const json = JSON.parse(ok(await cumulus(device, ['storage', '--json'])));
    assert.equal(json.retention.account.dailyDays, 60);
    assert.equal(json.retention.devices[0].policy, null);
    const refused = await cumulus(device, ['retention', 'set', '--days', 'many']);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /--days takes a whole number/);
    ok(await cumulus(device, ['retention', 'set', '--device', 'laptop', '--default']));
    assert.equal(ok(await cumulus(device, ['retention', 'set', '--default'])), `${DEFAULT}\n`);
  });
});

function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('a few simulated days through the CLI, on a server with a fake clock', () => {
  let work: string;
  let server: TestServer;
  let device: string;
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'cumulus-days-'));
    server = await startTestServer();
    await createAccount(server, 'days@example.com', PASSWORD);
    device = join(work, 'laptop');
    ok(
      await cumulus(device, ['login', server.url, '--email', 'days@example.com', '--device-name', 'laptop']),
    );
  });
  after(async () => {
    await server.close();
    await rm(work, { recursive: true, force: true });
  });

  it("the server's retention job thins the snapshots once they are days old and keeps the pinned one, without forget", async () => {
    const tree = await mkdtemp(join(work, 'home-'));
    for (const version of ['one', 'two', 'three', 'four']) {
      await writeFile(join(tree, 'notes.txt'), version);
      ok(await cumulus(device, ['backup', tree]));
    }
    const made = JSON.parse(ok(await cumulus(device, ['snapshots', '--json']))) as { id: string }[];
    assert.equal(made.length, 4);
    ok(await cumulus(device, ['snapshots', 'pin', made[0].id.slice(0, 8)]));
    // Three days on the server's clock: the four are one day's snapshots, past the first 48 hours.
    server.clock.advance(3 * 86_400_000);
    // The daily job, run now rather than waiting for the scheduler's real-time tick.
    const run = await server.services.maintenance.runNow('retention');
    assert.equal(run.outcome, 'ok');
    assert.equal(run.numbers.snapshotsRemoved, 2);
    const kept = JSON.parse(ok(await cumulus(device, ['snapshots', '--json']))) as {
      id: string;
      pinned: boolean;
    }[];
    assert.deepEqual(
      kept.map((s) => [s.id, s.pinned]),
      [
        [made[0].id, true],
        [made[3].id, false],
      ],
      "the pinned first one and the day's newest",
    );
    const restored = join(work, 'restored');
    ok(await cumulus(device, ['restore', 'latest', '--target', restored]));
    const status = ok(await cumulus(device, ['server', 'status', '--data', server.dataDir]));
    assert.match(
      status,
      /\n {2}retention: last run \S+: ok: accounts 1, devices 1, snapshotsRemoved 2, freedBytes \d+/,
    );
  });
});
