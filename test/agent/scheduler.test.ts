import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { afterEach, describe, it } from 'node:test';
import { BackupRequests } from '../../src/agent/backup-request.ts';
import { Scheduler, type SchedulerTiming } from '../../src/agent/scheduler.ts';
import { CumulusError } from '../../src/core/errors.ts';
import { GB, GOOD_PROFILE, makeWorld, type Profile, type World } from './fakes.ts';

const TIMING: Partial<SchedulerTiming> = {
  pollMs: 60_000,
  recheckMs: 1_000,
  retryBaseMs: 2_000,
  progressEveryMs: 0,
};
const HOUR = 3_600_000;

let world: World;
afterEach(() => world?.cleanup());

function scheduler(w: World): Scheduler {
  return new Scheduler({ ...w.ctx, timing: TIMING });
}

async function lastReason(w: World) {
  return (await w.ctx.state.read(w.clock.now())).reasons.at(-1)!;
}

describe('scheduler: when every condition holds', () => {
  it('backs up at the first evaluation, records it, reports it, and is not due again for 24 h', async () => {
    world = await makeWorld();
    const s = scheduler(world);
    const running = s.tick();
    await world.clock.advance(20_000);
    const result = await running;
    assert.equal(result.kind, 'completed');
    assert.equal(world.engine.uploads, 10);
    const state = await world.ctx.state.read(world.clock.now());
    assert.equal(state.lastSuccess?.snapshotId, 'snap-1');
    assert.equal(state.nextDueAt, state.lastCompletedAt! + 24 * HOUR, 'the next due time is known at once');
    assert.match(state.reasons.at(-1)!.message, /^backed up: 10 new or changed file\(s\), 10 MB added/);
    assert.equal(world.server.reports.at(-1)?.kind, 'success');
    assert.ok(world.server.progress.length > 0, 'progress went to the server');

    const later = await s.tick();
    assert.equal(later.kind, 'not-due');
    assert.equal(later.kind === 'not-due' && later.dueAt, state.lastCompletedAt! + 24 * HOUR);
    await world.clock.advance(24 * HOUR);
    world.engine.forget();
    const again = s.tick();
    await world.clock.advance(20_000);
    assert.equal((await again).kind, 'completed');
  });
});

interface Fault {
  name: string;
  condition: string;
  message: RegExp;
  profile?: Profile;
  apply?: (w: World) => Promise<void> | void;
  /** Relaxing the matching setting lets the backup run. */
  relax?: [string, string];
}

const FAULTS: Fault[] = [
  {
    name: 'backup off',
    condition: 'backup-switch',
    message: /backup is switched off/,
    apply: (w) => w.ctx.backupSwitch.write(false, 0).then(() => {}),
  },
  {
    name: 'not signed in',
    condition: 'sign-in',
    message: /not signed in/,
    apply: (w) => {
      w.deviceState.identity = null;
    },
  },
  {
    name: 'revoked session',
    condition: 'sign-in',
    message: /session was revoked/,
    apply: (w) => {
      w.server.session_.revoked = true;
    },
  },
  {
    name: 'offline',
    condition: 'network',
    message: /no network connection/,
    profile: { ...GOOD_PROFILE, network: { type: 'none' } },
  },
  {
    name: 'cellular',
    condition: 'network',
    message: /metered network \(cellular\)/,
    profile: { ...GOOD_PROFILE, network: { type: 'cellular' } },
    relax: ['network.requireUnmetered', 'false'],
  },
  {
    name: 'metered wifi',
    condition: 'network',
    message: /metered network \(wifi\)/,
    profile: { ...GOOD_PROFILE, network: { type: 'wifi', metered: true } },
    relax: ['network.requireUnmetered', 'false'],
  },
  {
    name: 'on battery',
    condition: 'power',
    message: /on battery \(34%\)/,
    profile: { ...GOOD_PROFILE, power: { ac: false, batteryPercent: 34 } },
    relax: ['power.allowBatteryAbovePercent', '30'],
  },
  {
    name: 'in use',
    condition: 'session',
    message: /in use \(screen unlocked, idle 2 of 10 min\)/,
    profile: { ...GOOD_PROFILE, session: { locked: false, idleSeconds: 150 } },
    relax: ['session.idleMinutes', '2'],
  },
  {
    name: 'server down',
    condition: 'server',
    message: /server does not answer \(connection refused\)/,
    apply: (w) => {
      w.server.reachable = false;
    },
  },
  {
    name: 'quota full',
    condition: 'storage',
    message: /storage full/,
    apply: (w) => {
      w.server.usage_.usedBytes = 5 * GB;
    },
    relax: ['checks.quota', 'false'],
  },
  {
    name: 'service down',
    condition: 'service-status',
    message: /service is down/,
    apply: (w) => {
      w.server.status_.overall = 'down';
    },
    relax: ['checks.serviceStatus', 'false'],
  },
  {
    name: 'broken settings',
    condition: 'settings',
    message: /settings are broken/,
    apply: (w) => writeFile(w.ctx.paths.settings, '{"power": {"requireAc": "sometimes"}}'),
  },
];

describe('scheduler: each condition alone keeps the backup waiting, with its reason and values', () => {
  for (const fault of FAULTS) {
    it(fault.name, async () => {
      world = await makeWorld(fault.profile ? { profile: fault.profile } : {});
      await fault.apply?.(world);
      const s = scheduler(world);
      const result = await s.tick();
      assert.equal(result.kind, 'waiting');
      assert.ok(result.kind === 'waiting');
      assert.deepEqual(
        result.blockers.map((b) => b.condition),
        [fault.condition],
      );
      const reason = await lastReason(world);
      assert.equal(reason.kind, 'waiting');
      assert.match(reason.message, fault.message);
      assert.equal(world.engine.runs, 0);
      assert.equal(world.server.reports.at(-1)?.kind ?? 'waiting', 'waiting');
      if (fault.relax) {
        await world.ctx.settings.set(...fault.relax);
        const relaxed = s.tick();
        await world.clock.advance(20_000);
        assert.equal((await relaxed).kind, 'completed', `relaxing ${fault.relax[0]} lets it run`);
      }
    });
  }

  it('records the measured values (battery level) and names every blocker of a combination', async () => {
    world = await makeWorld({
      profile: {
        power: { ac: false, batteryPercent: 34 },
        network: { type: 'cellular' },
        session: { locked: true },
      },
    });
    const result = await scheduler(world).tick();
    assert.ok(result.kind === 'waiting');
    assert.deepEqual(result.blockers.map((b) => b.condition).sort(), ['network', 'power']);
    const reason = await lastReason(world);
    assert.equal(reason.message, 'waiting: metered network (cellular); on battery (34%)');
    assert.equal(reason.values.batteryPercent, 34);
    assert.equal(reason.values.type, 'cellular');
  });

  it('a battery above the allowed level lets it run, below does not', async () => {
    world = await makeWorld({ profile: { ...GOOD_PROFILE, power: { ac: false, batteryPercent: 60 } } });
    await world.ctx.settings.set('power.allowBatteryAbovePercent', '50');
    const s = scheduler(world);
    await world.setProfile({ ...GOOD_PROFILE, power: { ac: false, batteryPercent: 45 } });
    assert.equal((await s.tick()).kind, 'waiting');
    assert.match((await lastReason(world)).message, /on battery \(45%, backups allowed above 50%\)/);
    await world.setProfile({ ...GOOD_PROFILE, power: { ac: false, batteryPercent: 60 } });
    const run = s.tick();
    await world.clock.advance(20_000);
    assert.equal((await run).kind, 'completed');
  });
});

describe('scheduler: reasons are deduplicated', () => {
  it('one "waiting: on battery" entry while it stays so, with the latest level and the first time', async () => {
    world = await makeWorld({ profile: { ...GOOD_PROFILE, power: { ac: false, batteryPercent: 34 } } });
    const s = scheduler(world);
    const first = world.clock.now();
    await s.tick();
    await world.clock.advance(60_000);
    await world.setProfile({ ...GOOD_PROFILE, power: { ac: false, batteryPercent: 31 } });
    await s.tick();
    const state = await world.ctx.state.read(world.clock.now());
    const waiting = state.reasons.filter((r) => r.kind === 'waiting');
    assert.equal(waiting.length, 1);
    assert.equal(waiting[0].count, 2);
    assert.equal(waiting[0].since, first);
    assert.match(waiting[0].message, /31%/);
    assert.equal(state.activity.since, first);
    assert.equal(world.server.reports.length, 1, 'the server hears of a new reason once');
    await world.setProfile({ ...GOOD_PROFILE, network: { type: 'cellular' } });
    await s.tick();
    assert.equal(
      (await world.ctx.state.read(world.clock.now())).reasons.filter((r) => r.kind === 'waiting').length,
      2,
    );
  });
});

describe('scheduler: the running loop', () => {
  it('starts at the first moment every condition holds (plugged in)', async () => {
    world = await makeWorld({ profile: { ...GOOD_PROFILE, power: { ac: false, batteryPercent: 50 } } });
    const stop = new AbortController();
    const loop = scheduler(world).run(stop.signal);
    try {
      await world.clock.advance(3 * 60_000);
      assert.equal(world.engine.runs, 0);
      await world.setProfile(GOOD_PROFILE);
      await world.clock.advance(60_000 + 20_000);
      assert.equal(world.engine.runs, 1);
      assert.equal(world.engine.uploads, 10);
    } finally {
      stop.abort();
      await loop;
    }
  });

  it('catches up a missed backup after the machine slept, and notes the sleep', async () => {
    world = await makeWorld();
    const stop = new AbortController();
    const loop = scheduler(world).run(stop.signal);
    try {
      await world.clock.advance(20_000);
      assert.equal(world.engine.runs, 1);
      world.engine.forget();
      await world.clock.advance(10 * 60_000);
      await world.clock.waitForTimers(1); // the loop sleeps between two evaluations
      world.clock.jump(30 * HOUR); // suspended past the next window
      await world.clock.advance(60_000 + 20_000);
      assert.equal(world.engine.runs, 2, 'the missed backup ran right after waking');
      const reasons = (await world.ctx.state.read(world.clock.now())).reasons;
      assert.ok(
        reasons.some((r) => r.kind === 'woke' && /asleep for 30 h/.test(r.message)),
        JSON.stringify(reasons.map((r) => r.message)),
      );
    } finally {
      stop.abort();
      await loop;
    }
  });

  it('stops cleanly when unplugged mid-backup and resumes without re-sending on AC', async () => {
    world = await makeWorld();
    const s = scheduler(world);
    const first = s.tick();
    await world.clock.advance(3_500);
    await world.setProfile({ ...GOOD_PROFILE, power: { ac: false, batteryPercent: 70 } });
    await world.clock.advance(2_000);
    const stopped = await first;
    assert.equal(stopped.kind, 'stopped');
    const uploadedBeforeStop = world.engine.uploads;
    assert.ok(uploadedBeforeStop > 0 && uploadedBeforeStop < 10, `uploaded ${uploadedBeforeStop}`);
    const reason = await lastReason(world);
    assert.equal(reason.kind, 'stopped');
    assert.match(reason.message, /stopped: on battery \(70%\); it resumes when every condition holds again/);
    assert.equal(world.server.reports.at(-1)?.kind, 'stopped');
    assert.equal((await s.tick()).kind, 'waiting', 'still due, waiting for power');

    await world.setProfile(GOOD_PROFILE);
    const second = s.tick();
    await world.clock.advance(20_000);
    assert.equal((await second).kind, 'completed');
    assert.equal(world.engine.runs, 2);
    assert.equal(world.engine.uploads, 10, 'every chunk was sent exactly once');
  });

  it('stops when moved to a metered link mid-backup', async () => {
    world = await makeWorld();
    const run = scheduler(world).tick();
    await world.clock.advance(2_500);
    await world.setProfile({ ...GOOD_PROFILE, network: { type: 'cellular' } });
    await world.clock.advance(2_000);
    const result = await run;
    assert.ok(result.kind === 'stopped');
    assert.deepEqual(
      result.blockers.map((b) => b.condition),
      ['network'],
    );
  });

  it('retries a dropped connection with exponential backoff and finishes', async () => {
    world = await makeWorld();
    world.engine.dropBeforeUpload = new Set([3, 5]);
    const run = scheduler(world).tick();
    const started = world.clock.now();
    await world.clock.advance(60_000);
    const result = await run;
    assert.equal(result.kind, 'completed');
    assert.equal(world.engine.runs, 3);
    assert.equal(world.engine.uploads, 10, 'resumed: nothing sent twice');
    const state = await world.ctx.state.read(world.clock.now());
    const retry = state.reasons.find((r) => r.kind === 'retrying')!;
    assert.equal(retry.count, 2);
    assert.match(retry.message, /connection dropped \(connection reset by peer\); retry 2 of 7 in 4 s/);
    assert.equal(
      state.lastSuccess!.at - started,
      10 * 1_000 + 2_000 + 4_000,
      '10 chunks plus 2 s and 4 s of backoff',
    );
  });

  it('gives up after the retries and records the failure, then waits before trying again', async () => {
    world = await makeWorld();
    world.engine.failWith = new CumulusError('network', 'no route to host');
    const s = new Scheduler({ ...world.ctx, timing: { ...TIMING, retryAttempts: 3 } });
    const run = s.tick();
    await world.clock.advance(60_000);
    assert.equal((await run).kind, 'failed');
    assert.equal(world.engine.runs, 3);
    const state = await world.ctx.state.read(world.clock.now());
    assert.match(state.lastFailure!.message, /no route to host/);
    assert.equal(state.reasons.at(-1)!.kind, 'failed');
    assert.equal((await s.tick()).kind, 'not-due', 'a failed backup is retried after failureRetryMs');
  });

  it('explains a full storage with what the backup needs and what is free', async () => {
    world = await makeWorld();
    world.engine.failWith = new CumulusError('quota_exceeded', 'quota exceeded');
    world.engine.prediction = { bytesToUpload: 1_200_000_000, files: 3, sources: [] };
    world.server.usage_.usedBytes = 5 * GB - 310_000_000;
    const result = await scheduler(world).tick();
    assert.equal(result.kind, 'failed');
    const reason = await lastReason(world);
    assert.equal(reason.message, 'failed: storage full — needs 1.2 GB, 310 MB free');
    assert.equal(reason.values.freeBytes, 310_000_000);
    const report = world.server.reports.at(-1);
    assert.deepEqual(report?.codes, ['quota_exceeded'], 'the server gets the code, not the words');
    assert.equal(report?.values.freeBytes, 310_000_000);
  });

  it('records a partial backup with the files it could not read', async () => {
    world = await makeWorld();
    world.engine.problems = [{ path: '/home/me/Documents/locked.db', message: 'permission denied' }];
    const run = scheduler(world).tick();
    await world.clock.advance(20_000);
    assert.equal((await run).kind, 'completed');
    const reason = await lastReason(world);
    assert.equal(reason.kind, 'partial');
    assert.match(
      reason.message,
      /1 file\(s\) could not be read \(first: \/home\/me\/Documents\/locked.db: permission denied\)/,
    );
    const report = world.server.reports.at(-1);
    assert.deepEqual(report?.codes, ['problems']);
    assert.equal(report?.values.problems, 1);
    assert.doesNotMatch(JSON.stringify(report), /locked|Documents|permission/, 'no path reaches the server');
  });
});

describe('scheduler: "back up now" requests from `cumulus backup`', () => {
  it('runs a request at once, even on battery and not due, and records its result under its id', async () => {
    world = await makeWorld({ profile: { ...GOOD_PROFILE, power: { ac: false, batteryPercent: 34 } } });
    const requests = new BackupRequests(world.ctx.paths.backupRequest);
    const s = new Scheduler({ ...world.ctx, timing: TIMING, requests });
    assert.equal((await s.tick()).kind, 'waiting', 'on battery, nothing scheduled runs');

    const request = await requests.submit(world.clock.now());
    const run = s.tick();
    await world.clock.advance(20_000);
    assert.equal((await run).kind, 'completed');
    const state = await world.ctx.state.read(world.clock.now());
    assert.equal(state.runningRequest, null);
    assert.equal(state.lastRequest?.id, request.id);
    assert.equal(state.lastRequest?.kind === 'completed' && state.lastRequest.outcome.snapshotId, 'snap-1');
    assert.ok(state.reasons.some((r) => r.kind === 'started' && /as asked/.test(r.message)));
    assert.equal(await requests.pending(), false, 'the request was taken');
    assert.equal((await s.tick()).kind, 'not-due', 'taken once: the next evaluation is a normal one');
  });

  it('records a failed request with its code and message', async () => {
    world = await makeWorld();
    world.engine.failWith = new CumulusError(
      'disk_full',
      'no space left on the device while writing the cache',
    );
    const requests = new BackupRequests(world.ctx.paths.backupRequest);
    const request = await requests.submit(world.clock.now());
    const run = new Scheduler({ ...world.ctx, timing: TIMING, requests }).tick();
    await world.clock.advance(20_000);
    assert.equal((await run).kind, 'failed');
    const { lastRequest } = await world.ctx.state.read(world.clock.now());
    assert.deepEqual(lastRequest, {
      id: request.id,
      kind: 'failed',
      code: 'disk_full',
      message: 'no space left on the device while writing the cache',
    });
  });
});
