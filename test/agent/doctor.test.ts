import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { daemonHealth } from '../../src/agent/daemon.ts';
import { type DoctorReport, runDoctor } from '../../src/agent/doctor/doctor.ts';
import { doctorJson, renderDoctor } from '../../src/agent/doctor/render.ts';
import { CHECK_IDS, type DoctorDeps } from '../../src/agent/doctor/types.ts';
import { CumulusError } from '../../src/core/errors.ts';
import { GB, GOOD_PROFILE, makeWorld, type World } from './fakes.ts';

let world: World;
afterEach(() => world?.cleanup());

/** healthyDevice is a world where every check passes: agent running, a recent backup, room to spare. */
async function healthyDevice(): Promise<{
  world: World;
  deps: DoctorDeps;
  restarts: number[];
}> {
  const w = await makeWorld();
  const restarts: number[] = [];
  const markRunning = async () => {
    await writeFile(
      w.ctx.paths.lock,
      JSON.stringify({ pid: process.pid, host: 'here', startedAt: w.clock.now() }),
    );
    await w.ctx.state.update(w.clock.now(), (s) => {
      s.agent = { pid: process.pid, version: '0.1.0', startedAt: w.clock.now(), heartbeatAt: w.clock.now() };
    });
  };
  await markRunning();
  await w.ctx.state.update(w.clock.now(), (s) => {
    s.lastSuccess = {
      at: w.clock.now() - 3_600_000,
      snapshotId: 's1',
      filesNew: 1,
      bytesAdded: 5,
      durationMs: 1000,
    };
    s.lastCompletedAt = s.lastSuccess.at;
  });
  const deps: DoctorDeps = {
    ...w.ctx,
    daemon: {
      health: () => daemonHealth(w.ctx),
      restart: async () => {
        restarts.push(w.clock.now());
        await markRunning();
        return ['restarted'];
      },
    },
    diskSpace: async () => ({ freeBytes: 50 * GB, totalBytes: 200 * GB }),
  };
  return { world: w, deps, restarts };
}

function check(report: DoctorReport, id: string) {
  return report.checks.find((c) => c.id === id)!;
}

function failing(report: DoctorReport): string[] {
  return report.checks.filter((c) => c.status === 'fail').map((c) => c.id);
}

describe('doctor on a healthy device', () => {
  it('runs every check in the seed order, then the extra ones, and none fails', async () => {
    const h = await healthyDevice();
    world = h.world;
    const report = await runDoctor(h.deps);
    assert.deepEqual(
      report.checks.map((c) => c.id),
      [...CHECK_IDS],
    );
    assert.deepEqual(failing(report), [], renderDoctor(report));
    assert.equal(report.ok, true);
    assert.ok(
      report.checks.every((c) => c.status === 'ok'),
      renderDoctor(report),
    );
    assert.match(
      check(report, 'network').evidence.join('\n'),
      /connected by wifi[\s\S]*Wi-Fi signal 70%[\s\S]*answers in 40 ms[\s\S]*uploads at 10 MB\/s/,
    );
    const json = JSON.parse(JSON.stringify(doctorJson(report)));
    assert.equal(json.checks.length, 12);
    assert.ok(
      json.checks.every((c: { status: string }) => ['ok', 'warn', 'fail', 'skip'].includes(c.status)),
    );
  });
});

describe('doctor names each of the nine faults, with its evidence and fix', () => {
  it('1. backup off — and --fix switches it on after asking', async () => {
    const h = await healthyDevice();
    world = h.world;
    await world.ctx.backupSwitch.write(false, world.clock.now());
    const report = await runDoctor(h.deps);
    assert.deepEqual(failing(report), ['backup-switch']);
    assert.match(check(report, 'backup-switch').evidence[0], /backup was switched off at/);
    assert.deepEqual(check(report, 'backup-switch').fix, ['Switch backup on: cumulus enable']);
    assert.equal(report.ok, false);

    const declined = await runDoctor(h.deps, { fix: true, ask: async () => false });
    assert.equal(declined.fixes[0].outcome, 'declined');
    assert.equal((await world.ctx.backupSwitch.read()).enabled, false, 'nothing changes without a yes');

    const questions: string[] = [];
    const ask = async (question: string) => {
      questions.push(question);
      return true;
    };
    const fixed = await runDoctor(h.deps, { fix: true, ask });
    assert.match(questions[0], /switch backup on/);
    assert.equal((await world.ctx.backupSwitch.read()).enabled, true);
    assert.deepEqual(failing(fixed), []);
  });

  it('1b. a damaged backup switch counts as off, says so, and --fix rewrites it', async () => {
    const h = await healthyDevice();
    world = h.world;
    await writeFile(world.ctx.paths.backupSwitch, '{"enabled": tr');
    const report = await runDoctor(h.deps);
    assert.deepEqual(failing(report), ['backup-switch']);
    assert.match(check(report, 'backup-switch').evidence[0], /backup switch cannot be read .*counts as off/);
    await runDoctor(h.deps, { fix: true, ask: async () => true });
    assert.equal((await world.ctx.backupSwitch.read()).enabled, true);
  });

  it('2. metered link', async () => {
    const h = await healthyDevice();
    world = h.world;
    await world.setProfile({ ...GOOD_PROFILE, network: { type: 'cellular' } });
    const report = await runDoctor(h.deps);
    assert.deepEqual(failing(report), ['network']);
    const network = check(report, 'network');
    assert.ok(network.evidence.some((e) => /metered network \(cellular\)/.test(e)));
    assert.ok(network.fix?.some((s) => /network.requireUnmetered false/.test(s)));
  });

  it('2b. weak Wi-Fi and a backup too big for the measured rate are warnings', async () => {
    const h = await healthyDevice();
    world = h.world;
    await world.setProfile({ ...GOOD_PROFILE, network: { type: 'wifi', wifiSignalPercent: 12 } });
    world.server.uploadRate = 100_000;
    world.engine.prediction = { bytesToUpload: 4 * GB, files: 10, sources: [] };
    const report = await runDoctor(h.deps);
    const network = check(report, 'network');
    assert.equal(network.status, 'warn');
    assert.ok(network.evidence.includes('Wi-Fi signal 12%'));
    assert.ok(
      network.evidence.some((e) => /the pending backup \(4.0 GB\) would take about 11 h/.test(e)),
      network.evidence.join('\n'),
    );
  });

  it('3. on battery', async () => {
    const h = await healthyDevice();
    world = h.world;
    await world.setProfile({ ...GOOD_PROFILE, power: { ac: false, batteryPercent: 34 } });
    const report = await runDoctor(h.deps);
    assert.deepEqual(failing(report), ['power']);
    assert.match(check(report, 'power').evidence[0], /^on battery \(34%\)/);
  });

  it('4. quota full — names the sources to exclude, the data to delete and the plan that fits', async () => {
    const h = await healthyDevice();
    world = h.world;
    world.server.usage_ = {
      usedBytes: 4.9 * GB,
      plan: { id: 'free', name: 'Free', quotaBytes: 5 * GB },
      sources: [
        { path: '/home/me/Old', device: 'old-laptop', storedBytes: 2 * GB, exclusiveBytes: 1.5 * GB },
      ],
    };
    world.engine.prediction = {
      bytesToUpload: 1.2 * GB,
      files: 40,
      sources: [
        { path: '/home/me/Documents', bytesToUpload: 0.1 * GB, files: 30 },
        { path: '/home/me/Videos', bytesToUpload: 1.1 * GB, files: 10 },
      ],
    };
    const report = await runDoctor(h.deps);
    assert.deepEqual(failing(report), ['storage']);
    const storage = check(report, 'storage');
    assert.ok(
      storage.evidence.includes('the next backup will not fit: needs 1.2 GB, 100 MB free'),
      storage.evidence.join('\n'),
    );
    assert.match(
      storage.fix![0],
      /Stop backing up \/home\/me\/Videos \(saves 1.1 GB\): cumulus sources remove \/home\/me\/Videos/,
    );
    assert.ok(
      storage.fix!.some((s) =>
        /Delete the backed-up data of \/home\/me\/Old on old-laptop \(frees 1.5 GB\)/.test(s),
      ),
    );
    assert.ok(
      storage.fix!.some((s) => /change to the Plus plan \(50 GB\): cumulus plan change plus/.test(s)),
    );
  });

  it('5. service status down', async () => {
    const h = await healthyDevice();
    world = h.world;
    world.server.status_ = {
      overall: 'down',
      components: [{ name: 'backup uploads', status: 'down' }],
      incidents: [{ title: 'blob storage unreachable', status: 'investigating' }],
      maintenance: [],
    };
    const report = await runDoctor(h.deps);
    assert.deepEqual(failing(report), ['service-status']);
    assert.deepEqual(check(report, 'service-status').evidence, [
      'overall: down',
      'backup uploads: down',
      'incident: blob storage unreachable (investigating)',
    ]);
  });

  it('6. revoked session', async () => {
    const h = await healthyDevice();
    world = h.world;
    world.server.session_.revoked = true;
    const report = await runDoctor(h.deps);
    assert.deepEqual(failing(report), ['sign-in']);
    const signIn = check(report, 'sign-in');
    assert.ok(signIn.evidence.some((e) => /session was revoked/.test(e)));
    assert.match(signIn.fix![0], /cumulus login http:\/\/127.0.0.1:1/);
  });

  it('6b. a skewed clock', async () => {
    const h = await healthyDevice();
    world = h.world;
    world.server.session_.serverTime = world.clock.now() - 20 * 60_000;
    const report = await runDoctor(h.deps);
    assert.deepEqual(failing(report), ['sign-in']);
    assert.ok(check(report, 'sign-in').evidence.some((e) => /clock is 20 min ahead of the server's/.test(e)));
  });

  it('7. agent not running — --fix restarts it without asking', async () => {
    const h = await healthyDevice();
    world = h.world;
    await writeFile(
      world.ctx.paths.lock,
      JSON.stringify({ pid: 2 ** 22 + 12345, host: 'here', startedAt: 0 }),
    );
    await world.ctx.state.update(world.clock.now(), (s) => {
      s.agent = null;
      s.activity = { kind: 'backing-up', since: world.clock.now() - 3_600_000, message: 'backing up' };
    });
    const report = await runDoctor(h.deps);
    assert.deepEqual(failing(report), ['agent']);
    const agent = check(report, 'agent');
    assert.ok(
      agent.evidence.some((e) => /stale lock: pid \d+ .* is not running/.test(e)),
      agent.evidence.join('\n'),
    );
    assert.ok(agent.evidence.some((e) => /a backup is marked as running/.test(e)));
    const fixed = await runDoctor(h.deps, {
      fix: true,
      ask: async () => assert.fail('restart does not change settings'),
    });
    assert.equal(h.restarts.length, 1);
    assert.deepEqual(failing(fixed), []);
  });

  it('8. broken settings — --fix resets them (keeping the sources) after asking', async () => {
    const h = await healthyDevice();
    world = h.world;
    const { settings } = await world.ctx.settings.inspect();
    await writeFile(
      world.ctx.paths.settings,
      JSON.stringify({
        ...settings,
        power: { requireAc: 'sometimes' },
        session: { requireLockedOrIdle: true, idleMinutes: -5 },
      }),
    );
    const report = await runDoctor(h.deps);
    assert.deepEqual(failing(report), ['settings']);
    const evidence = check(report, 'settings').evidence.join('\n');
    assert.match(evidence, /invalid: power.requireAc must be true or false \(found "sometimes"\)/);
    assert.match(evidence, /invalid: session.idleMinutes must be a number from 0 to 1440/);
    const fixed = await runDoctor(h.deps, { fix: true, yes: true });
    assert.equal(fixed.fixes[0].outcome, 'applied');
    assert.deepEqual(failing(fixed), []);
    assert.deepEqual((await world.ctx.settings.load()).sources, settings.sources);
  });

  it('8b. excludes that cover a whole source, and a condition that can never hold here', async () => {
    const h = await healthyDevice();
    world = h.world;
    const settings = await world.ctx.settings.load();
    settings.sources[0].excludes = ['*'];
    settings.network.unknownMeteredCountsAs = 'metered';
    await world.ctx.settings.save(settings);
    await world.setProfile({ ...GOOD_PROFILE, network: { type: 'ethernet', metered: 'unknown' } });
    const report = await runDoctor(h.deps);
    const evidence = check(report, 'settings').evidence.join('\n');
    assert.match(evidence, /the excludes of .*Documents \(\*\) cover everything in it/);
    assert.match(evidence, /cannot tell whether a link is metered: backups never start/);
  });

  it('9. agent below the minimum version — --fix leaves the update to the person', async () => {
    const h = await healthyDevice();
    world = h.world;
    world.server.release_ = { latest: '0.3.0', minimum: '0.2.0' };
    const report = await runDoctor(h.deps);
    assert.deepEqual(failing(report), ['update']);
    const update = check(report, 'update');
    assert.match(update.evidence[0], /this agent: 0.1.0; latest: 0.3.0; minimum the server accepts: 0.2.0/);
    assert.deepEqual(update.fix, ['Update the agent to 0.3.0: cumulus update says the commands to run']);
    assert.equal(update.autoFix, undefined, 'nothing installs what a server names');
    const fixed = await runDoctor(h.deps, { fix: true });
    assert.deepEqual(failing(fixed), ['update']);
  });
});

describe('doctor: the extra checks', () => {
  it('explains the last failure, and lists a source that is missing', async () => {
    const h = await healthyDevice();
    world = h.world;
    await world.ctx.state.update(world.clock.now(), (s) => {
      s.lastSuccess!.at = world.clock.now() - 80 * 3_600_000;
      s.lastFailure = {
        at: world.clock.now() - 3_600_000,
        message: 'storage full — needs 1.2 GB, 310 MB free',
        code: 'quota_exceeded',
        values: {},
      };
    });
    const settings = await world.ctx.settings.load();
    settings.sources.push({ path: join(world.dir, 'gone'), excludes: [] });
    await world.ctx.settings.save(settings);
    const report = await runDoctor(h.deps);
    const last = check(report, 'last-backup');
    assert.equal(last.status, 'fail');
    assert.ok(last.evidence.some((e) => /last failure .*: storage full — needs 1.2 GB, 310 MB free/.test(e)));
    assert.equal(check(report, 'sources').status, 'fail');
    assert.ok(check(report, 'sources').evidence.some((e) => /gone does not exist/.test(e)));
  });

  it('a nearly full local disk fails', async () => {
    const h = await healthyDevice();
    world = h.world;
    h.deps.diskSpace = async () => ({ freeBytes: 50_000_000, totalBytes: 100 * GB });
    const report = await runDoctor(h.deps);
    assert.deepEqual(failing(report), ['local-disk']);
  });
});

describe('doctor: what blocks a check, and measurements it cannot repeat now', () => {
  it('25 runs within an hour measure the upload five times and reuse it between, saying how old it is', async () => {
    const h = await healthyDevice();
    world = h.world;
    for (let run = 0; run < 25; run++) {
      const report = await runDoctor(h.deps);
      const network = check(report, 'network');
      assert.equal(network.status, 'ok', renderDoctor(report));
      if (run % 5 === 1)
        assert.match(network.evidence.join('\n'), /uploads at 10 MB\/s \(measured 2 min ago on wifi;/);
      await world.clock.advance(144_000);
    }
    assert.equal(world.server.measurements, 5, 'at 0, 12, 24, 36 and 48 min: one per 10-minute cool-down');
  });

  it('a measurement the server refuses reuses the last one, on any link; with none, it is not a network fault', async () => {
    const h = await healthyDevice();
    world = h.world;
    world.server.measureError = new CumulusError('rate_limited', 'too many requests: retry in 59 minutes');
    const none = check(await runDoctor(h.deps), 'network');
    assert.equal(none.status, 'ok');
    assert.ok(
      none.evidence.includes(
        'upload not measured: the server refuses a measurement now: too many requests: retry in 59 minutes',
      ),
    );
    world.server.measureError = undefined;
    await runDoctor(h.deps);
    world.server.measureError = new CumulusError('rate_limited', 'too many requests: retry in 47 minutes');
    await world.clock.advance(12 * 60_000);
    await world.setProfile({ ...GOOD_PROFILE, network: { type: 'ethernet', metered: false } });
    const reused = check(await runDoctor(h.deps), 'network');
    assert.equal(reused.status, 'ok');
    assert.ok(
      reused.evidence.includes(
        'uploads at 10 MB/s (measured 12 min ago on wifi; the server refuses a new measurement now: too many requests: retry in 47 minutes)',
      ),
      reused.evidence.join('\n'),
    );
    world.server.measureError = new CumulusError('network', 'connection reset by peer');
    await world.clock.advance(12 * 60_000);
    assert.equal(
      check(await runDoctor(h.deps), 'network').status,
      'warn',
      'a failed measurement is still a warning',
    );
  });

  it("a server that does not answer is the network check's fault; the checks that need the server skip, naming it, in text and JSON", async () => {
    const h = await healthyDevice();
    world = h.world;
    world.server.reachable = false;
    const report = await runDoctor(h.deps);
    assert.deepEqual(failing(report), ['network']);
    assert.match(
      check(report, 'network').evidence.join('\n'),
      /server http:\/\/127.0.0.1:1 does not answer: connection refused/,
    );
    for (const id of ['storage', 'service-status', 'sign-in', 'update']) {
      assert.equal(check(report, id).status, 'skip', id);
      assert.equal(check(report, id).blockedBy, 'network', id);
    }
    assert.match(
      renderDoctor(report),
      /SKIP {2}Storage \[storage\] — blocked by network\n {6}cannot ask the server: server .* does not answer: connection refused \(see the network check\)/,
    );
    const json = JSON.parse(JSON.stringify(doctorJson(report)));
    assert.equal(json.checks.find((c: { id: string }) => c.id === 'update').blockedBy, 'network');
  });

  it('a skip whose blocker found no fault is a warning of its own', async () => {
    const h = await healthyDevice();
    world = h.world;
    h.deps.runner.predict = async () => {
      throw new CumulusError('update_required', 'this agent (0.1.0) is too old for the server');
    };
    const report = await runDoctor(h.deps);
    const storage = check(report, 'storage');
    assert.equal(check(report, 'update').status, 'ok');
    assert.equal(storage.status, 'warn');
    assert.equal(storage.blockedBy, undefined);
    assert.match(
      storage.evidence.join('\n'),
      /too old[\s\S]*the update check found no fault that explains this/,
    );
  });
});
