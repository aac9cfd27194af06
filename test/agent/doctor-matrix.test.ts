/**
 * The doctor names the cause, not its echoes: on a healthy device signed in to a real
 * `cumulus server` process (real HTTP client, real repository, real sign-in state; the
 * simulated sensor profile stands in for the hardware), each of nine causes is injected
 * alone and with every other, and the doctor must flag exactly the checks of the injected
 * causes (precision and recall 1.00) while every other check is ok, or skips naming a
 * flagged check. A cause another one hides (the server cannot tell an offline or signed-out
 * device that its quota is full) must skip, blocked by the check that hides it. And a doctor
 * run 25 times within an hour keeps the network check ok through the server's rate limit
 * on upload measurements, reusing the last measurement with its age.
 */
import assert from 'node:assert/strict';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { engineRunner } from '../../src/agent/adapters/backup-runner.ts';
import { deviceStateIn } from '../../src/agent/adapters/device-state.ts';
import { accountServer } from '../../src/agent/adapters/server.ts';
import { systemClock } from '../../src/agent/clock.ts';
import { type AgentContext, localContext } from '../../src/agent/context.ts';
import { daemonHealth } from '../../src/agent/daemon.ts';
import { type DoctorReport, runDoctor } from '../../src/agent/doctor/doctor.ts';
import { renderDoctor } from '../../src/agent/doctor/render.ts';
import type { CheckId, DoctorDeps } from '../../src/agent/doctor/types.ts';
import { SimulatedSensors } from '../../src/agent/sensors/simulated.ts';
import { agentVersion } from '../../src/agent/version.ts';
import { runCumulus, type ServerProcess, startServerProcess } from '../helpers/cli.ts';
import { GB, GOOD_PROFILE, type Profile } from './fakes.ts';

interface Device {
  ctx: AgentContext;
  profile: Profile;
}

interface Cause {
  /** The check that owns this fault. */
  check: CheckId;
  /** Causes this one keeps the device from observing: their checks skip, blocked by this one's. */
  hides?: string[];
  /** Faults on the server (one account, so the cases that share them run together). */
  onServer?: 'quota-full' | 'too-old';
  inject?(device: Device): Promise<unknown>;
}

const SERVER_SIDE = ['quota-full', 'too-old'];

/** The nine causes, in the order they are injected (server-down edits the sign-in state before signed-out removes it). */
const CAUSES: Record<string, Cause> = {
  'backup-off': {
    check: 'backup-switch',
    inject: (d) => d.ctx.backupSwitch.write(false, Date.now()),
  },
  'on-battery': {
    check: 'power',
    inject: async (d) => {
      d.profile.power = { ac: false, batteryPercent: 34 };
    },
  },
  metered: {
    check: 'network',
    inject: async (d) => {
      d.profile.network = { ...d.profile.network, type: 'cellular', metered: true };
    },
  },
  offline: {
    check: 'network',
    hides: ['server-down', ...SERVER_SIDE],
    inject: async (d) => {
      d.profile.network = { ...d.profile.network, online: false };
    },
  },
  'server-down': {
    check: 'network',
    hides: SERVER_SIDE,
    // What a device sees when its server is down: nothing listens at the address.
    inject: async (d) => {
      const file = join(d.ctx.paths.configDir, 'device.json');
      const state = JSON.parse(await readFile(file, 'utf8'));
      await writeFile(file, JSON.stringify({ ...state, serverUrl: 'http://127.0.0.1:1' }));
    },
  },
  'signed-out': {
    check: 'sign-in',
    hides: ['server-down', ...SERVER_SIDE],
    inject: (d) => rm(join(d.ctx.paths.configDir, 'device.json')),
  },
  'quota-full': { check: 'storage', onServer: 'quota-full' },
  'too-old': { check: 'update', onServer: 'too-old' },
  'unreadable-source': {
    check: 'sources',
    // A chosen folder that is gone (an unplugged disk); the tests run as root, so a chmod would not do.
    inject: async (d) => {
      const settings = await d.ctx.settings.load();
      settings.sources.push({ path: join(d.ctx.paths.home, 'External', 'Photos'), excludes: [] });
      await d.ctx.settings.save(settings);
    },
  },
};

const NAMES = Object.keys(CAUSES);
const ALONE = NAMES.map((name) => [name]);
const PAIRS = NAMES.flatMap((a, i) => NAMES.slice(i + 1).map((b) => [a, b]));
const has = (names: string[], fault: string) => names.some((n) => CAUSES[n].onServer === fault);
/**
 * The server's faults hold for the whole account, so the cases run grouped: none, then
 * a full quota, then both, then only an old agent (the minimum version only goes up).
 */
const group = (names: string[]) =>
  has(names, 'too-old') ? (has(names, 'quota-full') ? 2 : 3) : has(names, 'quota-full') ? 1 : 0;
const CASES = [...ALONE, ...PAIRS].sort((a, b) => group(a) - group(b));

const flagged = (report: DoctorReport) =>
  report.checks.filter((c) => c.status === 'fail' || c.status === 'warn').map((c) => c.id);

describe('the doctor names the cause, not its echoes (a server process)', () => {
  let dir: string;
  let config: string;
  let pristine: string;
  let profilePath: string;
  let env: Record<string, string>;
  let server: ServerProcess | undefined;
  let originalPlan: string;
  const onServer = { 'quota-full': false, 'too-old': false };
  const totals = { truePositives: 0, falsePositives: 0, falseNegatives: 0 };

  const cumulus = async (args: string[]) => {
    const run = await runCumulus(args, env);
    assert.equal(run.code, 0, `cumulus ${args.join(' ')}: ${run.stderr}`);
    return run.stdout as string;
  };
  const admin = (args: string[]) => cumulus(['server', ...args, '--data', join(dir, 'data')]);

  /** device restores the healthy device's files, with a running agent, and builds its doctor. */
  const device = async (): Promise<{ device: Device; deps: DoctorDeps }> => {
    await rm(config, { recursive: true, force: true });
    await cp(pristine, config, { recursive: true });
    const ctx = localContext(
      {
        clock: systemClock,
        sensors: new SimulatedSensors(profilePath, systemClock),
        server: accountServer(config, agentVersion),
        runner: engineRunner(config, agentVersion),
        deviceState: deviceStateIn(config),
      },
      env,
    );
    const now = Date.now();
    await writeFile(ctx.paths.lock, JSON.stringify({ pid: process.pid, host: 'here', startedAt: now }));
    await ctx.state.update(now, (s) => {
      s.agent = { pid: process.pid, version: agentVersion, startedAt: now, heartbeatAt: now };
    });
    const deps: DoctorDeps = {
      ...ctx,
      daemon: { health: () => daemonHealth(ctx), restart: async () => ['restarted'] },
      // The test machine's own disk is not the device under test.
      diskSpace: async () => ({ freeBytes: 50 * GB, totalBytes: 200 * GB }),
    };
    return { device: { ctx, profile: structuredClone(GOOD_PROFILE) }, deps };
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cumulus-doctor-matrix-'));
    config = join(dir, 'config');
    pristine = join(dir, 'pristine');
    profilePath = join(dir, 'sensors.json');
    const home = join(dir, 'home');
    env = { HOME: home, CUMULUS_CONFIG_DIR: config, CUMULUS_SENSORS: profilePath, CUMULUS_REPOSITORY: '' };
    // The engine in this process keeps its index cache with the device's files, not in ~/.cache.
    process.env.CUMULUS_CACHE_DIR = join(dir, 'cache');
    await mkdir(join(home, 'Documents'), { recursive: true });
    await writeFile(join(home, 'Documents', 'notes.txt'), 'hello\n'.repeat(100));
    await writeFile(profilePath, JSON.stringify(GOOD_PROFILE));
    server = await startServerProcess(join(dir, 'data'), 'owner@example.com', env);
    await cumulus(['login', server.url, '--email', 'owner@example.com', '--device-name', 'laptop']);
    await cumulus(['enable', '--yes']);
    await cumulus(['backup']);
    const { plans } = JSON.parse(await admin(['plan', 'list', '--json']));
    originalPlan = plans.find((p: { isDefault: boolean }) => p.isDefault).id;
    await admin(['plan', 'put', 'tiny', '--name', 'Tiny', '--quota', '100B', '--hidden']);
    await cp(config, pristine, { recursive: true });
  });

  after(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('a healthy device: every check ok', async () => {
    const { deps } = await device();
    const report = await runDoctor(deps);
    assert.ok(
      report.checks.every((c) => c.status === 'ok'),
      renderDoctor(report),
    );
    assert.match(
      report.checks.find((c) => c.id === 'network')!.evidence.join('\n'),
      /uploads at .* \(2\.0 MB sent to the server\)/,
    );
    await cp(config, pristine, { recursive: true });
  });

  it('25 runs within an hour: the server refuses measurements after a dozen, and the network stays ok on the last one, with its age', async () => {
    const { deps } = await device();
    const reused: string[] = [];
    for (let run = 1; run <= 25; run++) {
      // No cool-down, so every run asks the server and meets its limit.
      const report = await runDoctor({ ...deps, uploadCoolDownMs: 0 });
      assert.deepEqual(flagged(report), [], `run ${run}:\n${renderDoctor(report)}`);
      const network = report.checks.find((c) => c.id === 'network')!.evidence.join('\n');
      const old = network.match(
        /uploads at .* \(measured \d+ s ago on wifi; the server refuses a new measurement now: too many requests: retry in [^)]+\)/,
      );
      if (old) reused.push(old[0]);
    }
    assert.ok(
      reused.length >= 25 - 12,
      `the server allows a dozen measurements an hour: ${reused.length} reused`,
    );
  });

  for (const names of CASES) {
    it(names.join(' + '), async () => {
      for (const fault of ['quota-full', 'too-old'] as const) {
        const wanted = has(names, fault);
        if (wanted === onServer[fault]) continue;
        if (fault === 'quota-full')
          await admin(['user', 'set-plan', 'owner@example.com', wanted ? 'tiny' : originalPlan]);
        else await admin(['release', 'publish', '99.0.0', '--minimum', '99.0.0']);
        onServer[fault] = wanted;
      }
      const { device: d, deps } = await device();
      for (const name of names) await CAUSES[name].inject?.(d);
      await writeFile(profilePath, JSON.stringify(d.profile));
      const report = await runDoctor(deps);
      await writeFile(profilePath, JSON.stringify(GOOD_PROFILE));

      const hidden = names.filter((n) => names.some((other) => CAUSES[other].hides?.includes(n)));
      const expected = new Set(names.filter((n) => !hidden.includes(n)).map((n) => CAUSES[n].check));
      const found = new Set(flagged(report));
      const text = renderDoctor(report);
      totals.truePositives += [...found].filter((c) => expected.has(c)).length;
      totals.falsePositives += [...found].filter((c) => !expected.has(c)).length;
      totals.falseNegatives += [...expected].filter((c) => !found.has(c)).length;
      assert.deepEqual([...found].sort(), [...expected].sort(), text);
      for (const check of report.checks) {
        if (found.has(check.id)) continue;
        if (check.status === 'ok') {
          // A check that measures part of its own ground (the network's link) may be ok,
          // but then it names the flagged check that keeps it from seeing the rest.
          if (hidden.some((n) => CAUSES[n].check === check.id))
            assert.ok(
              [...found].some((c) => check.evidence.some((e) => e.endsWith(`(see the ${c} check)`))),
              `${check.id} cannot see its hidden cause, so it says what hides it:\n${text}`,
            );
          continue;
        }
        assert.equal(check.status, 'skip', text);
        assert.ok(
          check.blockedBy && found.has(check.blockedBy),
          `${check.id} names a flagged check:\n${text}`,
        );
      }
      assert.equal(report.ok, false, 'every cause stops backups: the doctor exits non-zero');
    });
  }

  it('over the matrix: precision and recall 1.00', (t) => {
    const { truePositives: tp, falsePositives: fp, falseNegatives: fn } = totals;
    t.diagnostic(`${CASES.length} cases: precision ${tp / (tp + fp)}, recall ${tp / (tp + fn)}`);
    assert.equal(CASES.length, 9 + 36);
    assert.equal(tp / (tp + fp), 1);
    assert.equal(tp / (tp + fn), 1);
  });
});
