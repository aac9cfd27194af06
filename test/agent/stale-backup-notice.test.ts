/**
 * The agent's desktop notification on a fake clock: the scheduler's loop, waiting on
 * battery, with the stale-backup notice after each evaluation and the real doctor behind
 * it. It notifies exactly once after three days without a backup, naming the doctor's top
 * finding and its fix; not again the next day; again three days after the first; and says
 * so once when a backup succeeds again.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { runDoctor, topFinding } from '../../src/agent/doctor/doctor.ts';
import type { DoctorDeps } from '../../src/agent/doctor/types.ts';
import { Scheduler } from '../../src/agent/scheduler.ts';
import { noticeStaleBackup } from '../../src/agent/stale-backup-notice.ts';
import { FakeNotifier, GB, GOOD_PROFILE, makeWorld, runningDaemon, type World } from './fakes.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

let world: World;
afterEach(() => world?.cleanup());

describe('desktop notification when backups have stopped', () => {
  it('once after 3 days waiting on battery, with the top finding and its fix; not the next day; a note when it backs up again', async () => {
    world = await makeWorld({ profile: { ...GOOD_PROFILE, power: { ac: false, batteryPercent: 34 } } });
    const start = world.clock.now();
    await world.ctx.state.update(start, (s) => {
      s.lastSuccess = { at: start, snapshotId: 's1', filesNew: 1, bytesAdded: 5, durationMs: 1000 };
      s.lastCompletedAt = start;
    });
    const deps: DoctorDeps = {
      ...world.ctx,
      // The agent asking is the agent the doctor checks: it is running.
      daemon: runningDaemon(),
      diskSpace: async () => ({ freeBytes: 50 * GB, totalBytes: 200 * GB }),
    };
    const notifier = new FakeNotifier();
    let doctorRuns = 0;
    const scheduler = new Scheduler({
      ...world.ctx,
      timing: { pollMs: HOUR, recheckMs: 1_000 },
      afterEvaluation: () =>
        noticeStaleBackup({
          ...world.ctx,
          notifier,
          diagnose: async () => {
            doctorRuns++;
            return topFinding((await runDoctor(deps)).checks);
          },
        }),
    });
    const stop = new AbortController();
    const loop = scheduler.run(stop.signal);
    // advance lets each evaluation, the doctor and their file I/O finish before time moves on.
    const until = async (at: number) => {
      while (world.clock.now() < start + at) await world.clock.advance(HOUR);
    };
    await world.clock.waitForTimers(1);

    await until(3 * DAY);
    assert.equal(notifier.shown.length, 0, 'not before 3 days');
    await until(3 * DAY + HOUR);
    assert.deepEqual(notifier.shown, [
      {
        title: 'Cumulus: backups have stopped',
        body: 'No backup for 3 days. Power: on battery (34%): automatic backups wait for AC power. Fix: Plug the device into power; the backup starts by itself.',
      },
    ]);
    await until(4 * DAY + HOUR);
    assert.equal(notifier.shown.length, 1, 'not again the next day');
    assert.equal(doctorRuns, 1, 'the doctor runs only when a notice is due');
    await until(6 * DAY + 2 * HOUR);
    assert.equal(notifier.shown.length, 2, 'again once the 3 days since the first have passed');

    await world.setProfile(GOOD_PROFILE);
    await until(6 * DAY + 4 * HOUR);
    const state = await world.ctx.state.read(world.clock.now());
    assert.ok(state.lastSuccess!.at > start + 6 * DAY, 'it backed up on AC');
    assert.equal(notifier.shown.length, 3);
    assert.equal(notifier.shown[2].title, 'Cumulus: backing up again');
    assert.match(notifier.shown[2].body, /^This device backed up again at \d{4}-\d\d-\d\d \d\d:\d\d\.$/);
    await until(10 * DAY);
    assert.equal(notifier.shown.length, 3, 'nothing more while it backs up');
    stop.abort();
    await world.clock.advance(HOUR);
    await loop;
  });

  it('never while backup is switched off (the owner chose it), nor with notify.afterDays off', async () => {
    world = await makeWorld({ enabled: false });
    const notifier = new FakeNotifier();
    const notice = () =>
      noticeStaleBackup({ ...world.ctx, notifier, diagnose: async () => assert.fail('no doctor') });
    await world.ctx.state.update(world.clock.now(), (s) => {
      s.lastSuccess = { at: world.clock.now(), snapshotId: 's1', filesNew: 1, bytesAdded: 5, durationMs: 1 };
    });
    await world.clock.advance(10 * DAY);
    assert.equal(await notice(), 'none');
    await world.ctx.backupSwitch.write(true, world.clock.now());
    await world.ctx.settings.set('notify.afterDays', 'off');
    assert.equal(await notice(), 'none');
    assert.equal(notifier.shown.length, 0);
  });
});
