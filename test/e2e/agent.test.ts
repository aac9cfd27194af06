/**
 * The "done means", end to end with real processes only: a `cumulus server`
 * process, a device signed in with `cumulus login`, `cumulus enable`, and the real
 * `cumulus agent run` daemon reading a simulated sensor profile. On battery it waits and
 * says why (status and doctor agree, nothing reaches the server); plugged in, it backs up
 * at once — each source with its own excludes — and status, the server's device list and
 * a restore on the account all show that backup.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { access, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { StatusReport } from '../../src/agent/status.ts';
import { type DoctorResult, getDoctorReport } from '../../src/api/devices.ts';
import { AccountClient } from '../../src/client/account-client.ts';
import { loadDeviceState } from '../../src/client/device-state.ts';
import { openFromDevice } from '../../src/client/sealed-report.ts';
import { cumulusAsync, runCumulus, type ServerProcess, startServerProcess } from '../helpers/cli.ts';
import { compareTrees, writeTree } from '../helpers/trees.ts';

const ON_BATTERY = {
  power: { ac: false, batteryPercent: 34 },
  network: { online: true, type: 'wifi', metered: false, wifiSignalPercent: 70 },
  session: { locked: true, idleSeconds: 600 },
};
const PLUGGED_IN = { ...ON_BATTERY, power: { ac: true, batteryPercent: 80 } };

describe('the agent daemon against a server process', () => {
  let dir: string;
  let home: string;
  let profile: string;
  let env: Record<string, string>;
  let server: ServerProcess | undefined;
  let agent: ChildProcess | undefined;
  /** The agent `doctor --fix` started, detached. */
  let restartedAgent: number | undefined;

  const start = (args: string[]) => cumulusAsync(args, env);
  const cumulus = (args: string[]) => runCumulus(args, env);
  const json = async (args: string[]) => {
    const run = await cumulus(args);
    assert.ok(run.stdout !== '', `cumulus ${args.join(' ')}: ${run.stderr}`);
    return JSON.parse(run.stdout);
  };
  /** until polls `cumulus status --json` until `test` holds on it. */
  const until = async (what: string, test: (status: StatusReport) => boolean): Promise<StatusReport> => {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const status = await json(['status', '--json']);
      if (test(status)) return status;
      assert.ok(Date.now() < deadline, `${what}; status is ${JSON.stringify(status, null, 2)}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cumulus-agent-e2e-'));
    home = join(dir, 'home');
    profile = join(dir, 'sensors.json');
    env = {
      HOME: home,
      CUMULUS_CONFIG_DIR: join(dir, 'config'),
      CUMULUS_SENSORS: profile,
      CUMULUS_REPOSITORY: '',
    };
    writeTree(home, {
      Documents: {
        type: 'dir',
        children: {
          'letter.txt': { type: 'file', data: 'Dear owner,\n'.repeat(2000) },
          cache: { type: 'dir', children: { 'big.bin': { type: 'file', data: 'x'.repeat(50_000) } } },
        },
      },
      Pictures: {
        type: 'dir',
        children: {
          'cat.jpg': { type: 'file', data: Buffer.alloc(300_000, 7) },
          cache: { type: 'dir', children: { 'thumb.jpg': { type: 'file', data: 'thumbnail' } } },
        },
      },
    });
    await writeFile(profile, JSON.stringify(ON_BATTERY));
    server = await startServerProcess(join(dir, 'data'), 'owner@example.com', env);
    const login = await cumulus([
      'login',
      server.url,
      '--email',
      'owner@example.com',
      '--device-name',
      'laptop',
    ]);
    assert.equal(login.code, 0, login.stderr);
  });

  after(async () => {
    if (agent && agent.exitCode === null) {
      const exited = new Promise((resolve) => agent!.on('exit', resolve));
      agent.kill('SIGTERM');
      await exited;
    }
    if (restartedAgent !== undefined) process.kill(restartedAgent, 'SIGTERM');
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('enables backup with the usual folders, and an exclude for one of them', async () => {
    const enabled = await cumulus(['enable', '--yes']);
    assert.equal(enabled.code, 0, enabled.stderr);
    assert.match(enabled.stdout, /Backing up: .*Documents, .*Pictures/);
    const added = await cumulus(['sources', 'add', join(home, 'Documents'), '--exclude', 'cache/']);
    assert.equal(added.code, 0, added.stderr);
  });

  it('waits on battery, and says so', async () => {
    agent = start(['agent', 'run']);
    const status = await until(
      'the agent says it waits for power',
      (s) => s.agent.responsive && s.activity.kind === 'waiting',
    );
    assert.equal(status.activity.message, 'waiting: on battery (34%)');
    assert.equal(status.lastSuccess, null);
    const doctor = await json(['doctor', '--json']);
    const power = doctor.checks.find((c: { id: string }) => c.id === 'power');
    assert.equal(power.status, 'fail');
    assert.match(power.evidence.join('\n'), /battery.*34%/);
    assert.deepEqual(await json(['snapshots', '--json']), [], 'nothing was backed up');
    const devices = await json(['devices', 'list', '--json']);
    assert.equal(devices.devices[0].lastOutcome, 'skipped');
    assert.deepEqual(devices.devices[0].lastReason, {
      codes: ['power'],
      values: { ac: false, batteryPercent: 34 },
    });
  });

  it('backs up as soon as it is plugged in, each source with its own excludes', async () => {
    await writeFile(profile, JSON.stringify(PLUGGED_IN));
    const status = await until('the backup ran after plugging in', (s) => s.lastSuccess !== null);
    const done = status.recent.find((r) => r.kind === 'success');
    assert.match(done?.message ?? '', /^backed up: 3 new or changed file\(s\)/);
    const snapshots = await json(['snapshots', '--json']);
    assert.equal(snapshots.length, 1);
    assert.equal(status.lastSuccess?.snapshotId, snapshots[0].id);

    const target = join(dir, 'restored');
    const restored = await cumulus(['restore', 'latest', '--target', target]);
    assert.equal(restored.code, 0, restored.stderr);
    assert.deepEqual(compareTrees(join(home, 'Pictures'), join(target, 'Pictures')), []);
    await access(join(target, 'Documents', 'letter.txt'));
    await assert.rejects(access(join(target, 'Documents', 'cache')), "Documents' own exclude held");

    const devices = await json(['devices', 'list', '--json']);
    assert.equal(devices.devices[0].lastOutcome, 'success');
    assert.equal(devices.devices[0].progress, null);
  });

  it('`cumulus backup` while the agent runs: the agent backs up, the command shows the result', async () => {
    await writeFile(join(home, 'Documents', 'new.txt'), 'written after the first backup');
    const run = await cumulus(['backup']);
    assert.equal(run.code, 0, run.stderr);
    const saved = run.stdout.match(/snapshot ([0-9a-f]{8}) saved/);
    assert.ok(saved, run.stdout);
    const state = JSON.parse(await readFile(join(dir, 'config', 'state.json'), 'utf8'));
    assert.equal(state.lastRequest?.kind, 'completed', 'the agent ran the request');
    assert.ok(state.lastRequest.outcome.snapshotId.startsWith(saved[1]));
    assert.equal(state.agent.pid, agent!.pid, 'the same agent process is running');
    assert.equal((await json(['snapshots', '--json'])).length, 2);
  });

  /** diagnose runs `cumulus doctor --json` and returns its exit code and the check `id`. */
  const diagnose = async (id: string, ...extra: string[]) => {
    const run = await cumulus(['doctor', '--json', ...extra]);
    const report = JSON.parse(run.stdout);
    const check = report.checks.find((c: { id: string }) => c.id === id);
    assert.ok(check, `doctor has a ${id} check: ${run.stdout}`);
    const failing = report.checks
      .filter((c: { status: string }) => c.status === 'fail')
      .map((c: { id: string }) => c.id);
    // "Exactly that fault": no other check fails (the sign-in test says what it expects instead).
    if (!extra.includes('--fix') && id !== 'sign-in')
      assert.deepEqual(failing, check.status === 'fail' ? [id] : [], run.stdout);
    return { code: run.code, report, check, failing, text: check.evidence.join('\n') };
  };
  const admin = (args: string[]) => cumulus(['server', ...args, '--data', join(dir, 'data')]);

  it('doctor: backup switched off, and --fix switches it on', async () => {
    assert.equal((await cumulus(['disable', '--yes'])).code, 0);
    const off = await diagnose('backup-switch');
    assert.equal(off.check.status, 'fail');
    assert.notEqual(off.code, 0, 'a failed check is a non-zero exit');
    assert.match(off.text, /switched off/);
    const fixed = await diagnose('backup-switch', '--fix', '--yes');
    assert.deepEqual(
      fixed.report.fixes.map((f: { check: string; outcome: string }) => [f.check, f.outcome]),
      [['backup-switch', 'applied']],
    );
    assert.equal((await json(['status', '--json'])).backupEnabled, true);
  });

  it("doctor: each run reaches the console's troubleshooter, sealed: the same checks, opened with the key", async () => {
    const run = await cumulus(['doctor', '--json']);
    const printed = JSON.parse(run.stdout) as DoctorResult;
    const state = (await loadDeviceState(join(dir, 'config')))!;
    const client = new AccountClient({ serverUrl: state.serverUrl, token: state.token });
    const { report } = await client.call(getDoctorReport, { params: { deviceId: state.deviceId } });
    const opened = openFromDevice(state, report) as DoctorResult;
    assert.equal(opened.deviceId, state.deviceId);
    const summary = (r: DoctorResult) => r.checks.map((c) => [c.id, c.status]);
    assert.deepEqual(summary(opened), summary(printed));
    const sources = (r: DoctorResult) => r.checks.find((c) => c.id === 'sources')?.evidence;
    assert.deepEqual(sources(opened), sources(printed), 'the evidence, paths and all, for the owner');
  });

  it('doctor: a metered link', async () => {
    await writeFile(profile, JSON.stringify({ ...PLUGGED_IN, network: { online: true, type: 'cellular' } }));
    const { check, text } = await diagnose('network');
    await writeFile(profile, JSON.stringify(PLUGGED_IN));
    assert.equal(check.status, 'fail');
    assert.match(text, /metered: yes/);
    assert.match(check.fix.join('\n'), /unmetered Wi-Fi/);
  });

  it('doctor: storage full, with what would make it fit', async () => {
    const { plans } = JSON.parse((await admin(['plan', 'list', '--json'])).stdout);
    const original = plans.find((p: { isDefault: boolean }) => p.isDefault).id;
    assert.equal(
      (await admin(['plan', 'put', 'tiny', '--name', 'Tiny', '--quota', '1KB', '--hidden'])).code,
      0,
    );
    assert.equal((await admin(['user', 'set-plan', 'owner@example.com', 'tiny'])).code, 0);
    await writeFile(join(home, 'Pictures', 'new.jpg'), Buffer.alloc(20_000, 1));
    const { check, text } = await diagnose('storage');
    assert.equal((await admin(['user', 'set-plan', 'owner@example.com', original])).code, 0);
    assert.equal(check.status, 'fail');
    assert.match(text, /using \d\.\d kB of 1\.0 kB \(Tiny plan\), 0 B free/);
    assert.match(text, /will not fit: needs 20 kB/);
    assert.match(check.fix.join('\n'), /cumulus plan change|cumulus sources remove/);
  });

  it('doctor: the service is down', async () => {
    const added = await admin([
      'incident',
      'add',
      '--title',
      'Disk trouble',
      '--severity',
      'major',
      '--components',
      'blob_storage',
      '--json',
    ]);
    assert.equal(added.code, 0, added.stderr);
    const { check, text } = await diagnose('service-status');
    assert.equal((await admin(['incident', 'resolve', JSON.parse(added.stdout).id])).code, 0);
    assert.equal(check.status, 'fail');
    assert.match(text, /incident: Disk trouble/);
  });

  it('doctor: broken settings, and --fix resets them keeping the sources', async () => {
    const settingsFile = join(dir, 'config', 'settings.json');
    const before = JSON.parse(await readFile(settingsFile, 'utf8'));
    await writeFile(settingsFile, JSON.stringify({ ...before, power: { requireAc: 'sometimes' } }));
    const broken = await diagnose('settings');
    assert.equal(broken.check.status, 'fail');
    assert.match(broken.text, /power/);
    await diagnose('settings', '--fix', '--yes');
    const after = JSON.parse(await readFile(settingsFile, 'utf8'));
    assert.deepEqual(
      after.sources.map((s: { path: string }) => s.path),
      before.sources.map((s: { path: string }) => s.path),
    );
    assert.equal((await diagnose('settings')).check.status, 'ok');
  });

  it('stops cleanly on SIGTERM and says the agent is not running', async () => {
    const exited = new Promise<number | null>((resolve) => agent!.on('exit', resolve));
    agent!.kill('SIGTERM');
    assert.equal(await exited, 0);
    const status = await json(['status', '--json']);
    assert.equal(status.agent.running, false);
    await mkdir(join(dir, 'config'), { recursive: true });
    await assert.rejects(access(join(dir, 'config', 'agent.lock')), 'the lock is released');
  });

  it('`cumulus backup` with no agent, interrupted: exit 130, journaled as stopped, nothing left marked as running', async () => {
    const big = join(home, 'Pictures', 'holiday.mov');
    await writeFile(big, randomBytes(150_000_000));
    const child = start(['backup']);
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    await until('the backup runs', (s) => s.activity.kind === 'backing-up');
    child.kill('SIGINT');
    assert.equal(await exited, 130);
    await rm(big);
    const status = await json(['status', '--json']);
    assert.notEqual(status.activity.kind, 'backing-up');
    assert.match(status.recent.at(-1).message, /^stopped: interrupted/);
  });

  it('doctor: the agent is not running, and --fix starts it', async () => {
    const down = await diagnose('agent');
    assert.equal(down.check.status, 'fail');
    assert.match(down.text, /no agent is running/);
    await diagnose('agent', '--fix', '--yes');
    const status = await json(['status', '--json']);
    assert.equal(status.agent.responsive, true, 'the restarted agent answers');
    restartedAgent = status.agent.pid;
  });

  it('doctor: an account key that does not open the repository', async () => {
    const stateFile = join(dir, 'config', 'device.json');
    const saved = await readFile(stateFile, 'utf8');
    const state = JSON.parse(saved);
    await writeFile(
      stateFile,
      JSON.stringify({ ...state, accountKey: Buffer.alloc(32, 9).toString('base64') }),
    );
    const { check, text, failing } = await diagnose('sign-in');
    await writeFile(stateFile, saved);
    assert.deepEqual(failing, ['sign-in']);
    assert.match(text, /account key cannot open the repository: it cannot open snapshot [0-9a-f]{8}/);
    assert.match(check.fix.join('\n'), /cumulus login/);
    const healthy = await diagnose('sign-in');
    assert.equal(healthy.check.status, 'ok');
    assert.match(healthy.text, /account key opens repository [0-9a-f]{8}/);
    assert.match(healthy.text, /clock within \d+ s of the server's/);
  });

  it('doctor: an agent below the minimum version', async () => {
    const published = await admin(['release', 'publish', '99.0.0', '--minimum', '99.0.0']);
    assert.equal(published.code, 0, published.stderr);
    const { check, text } = await diagnose('update');
    assert.equal(check.status, 'fail');
    assert.match(text, /older than the minimum/);
    assert.match(check.fix.join('\n'), /cumulus update/);
  });

  it('neither `update` nor `doctor --fix` installs the version a server names: they say what to run', async () => {
    // git and npm on the PATH that only leave a mark: any install attempt shows.
    const spies = join(dir, 'spies');
    const marks = join(dir, 'installs-attempted');
    await mkdir(spies, { recursive: true });
    for (const tool of ['git', 'npm']) {
      await writeFile(join(spies, tool), `#!/bin/sh\necho "${tool} $*" >> '${marks}'\n`, { mode: 0o755 });
    }
    const path = { PATH: `${spies}:${process.env.PATH}` };
    const update = await runCumulus(['update'], { ...env, ...path });
    assert.equal(update.code, 0, update.stderr);
    assert.match(update.stdout, /the server says 99\.0\.0 is the latest agent/);
    assert.match(
      update.stdout,
      /verify-tag v99\.0\.0/,
      'this copy is a git checkout: the tag is checked first',
    );
    const fixed = await runCumulus(['doctor', '--fix', '--yes'], { ...env, ...path });
    assert.match(fixed.stdout, /cumulus update/);
    await assert.rejects(access(marks), 'no git or npm command ran');
  });

  it('doctor: a revoked session', async () => {
    assert.equal((await admin(['user', 'disable', 'owner@example.com'])).code, 0);
    const { check, text, failing } = await diagnose('sign-in');
    assert.deepEqual(failing, ['sign-in', 'update'], 'the old version of the test before still shows');
    assert.equal(check.status, 'fail');
    assert.match(text, /revoked|signed out/);
  });
});
