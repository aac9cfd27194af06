import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CumulusError } from '../../core/errors.ts';
import type { Clock } from '../clock.ts';
import { MIGRATIONS } from '../db/migrations.ts';
import { SqliteDatabase } from '../db/sqlite-database.ts';
import { MaintenanceScheduler } from './maintenance.ts';

class FakeClock implements Clock {
  at = Date.UTC(2030, 0, 1);
  now(): number {
    return this.at;
  }
}

const HOUR = 3_600_000;
const LEADER = { isLeader: () => true };

describe('MaintenanceScheduler', () => {
  const dirs: string[] = [];
  after(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));
  async function databasePath(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'cumulus-maintenance-'));
    dirs.push(dir);
    return join(dir, 'server.sqlite');
  }
  async function open(path: string): Promise<SqliteDatabase> {
    const db = new SqliteDatabase(path);
    await db.migrate(MIGRATIONS);
    return db;
  }

  it('runs each due job once, stores its outcome, and runs it again only when it is due on the clock', async () => {
    const db = await open(await databasePath());
    const clock = new FakeClock();
    const scheduler = new MaintenanceScheduler({ db, clock, leader: LEADER });
    const calls: number[] = [];
    scheduler.register({
      name: 'gc',
      everyMs: HOUR,
      run: async (now) => {
        calls.push(now);
        return { numbers: { accounts: 2, freedBytes: 4096 } };
      },
    });
    const [first] = await scheduler.runDue();
    assert.equal(first.outcome, 'ok');
    assert.equal(first.code, 'ok');
    assert.deepEqual(first.numbers, { accounts: 2, freedBytes: 4096 });
    assert.deepEqual(await scheduler.runDue(), [], 'not due again yet');
    clock.at += HOUR - 1;
    assert.deepEqual(await scheduler.runDue(), []);
    clock.at += 1;
    assert.equal((await scheduler.runDue()).length, 1);
    assert.deepEqual(calls, [Date.UTC(2030, 0, 1), Date.UTC(2030, 0, 1) + HOUR]);
    const [state] = await scheduler.jobs();
    assert.equal(state.job, 'gc');
    assert.equal(state.lastRun?.startedAt, clock.at);
    assert.equal(state.nextRunAt, clock.at + HOUR);
    await db.close();
  });

  it('stores a failure as its error code alone, never the message', async () => {
    const db = await open(await databasePath());
    const scheduler = new MaintenanceScheduler({ db, clock: new FakeClock(), leader: LEADER });
    scheduler.register({
      name: 'check',
      everyMs: HOUR,
      run: async () => {
        throw new CumulusError('not_found', 'no file /home/alice/secret.txt');
      },
    });
    scheduler.register({
      name: 'crash',
      everyMs: HOUR,
      run: async () => {
        throw new Error('ENOENT /home/alice/taxes.pdf');
      },
    });
    const runs = await scheduler.runDue();
    assert.deepEqual(
      runs.map((run) => [run.job, run.outcome, run.code]),
      [
        ['check', 'failed', 'not_found'],
        ['crash', 'failed', 'error'],
      ],
    );
    const stored = JSON.stringify(await db.all('SELECT * FROM maintenance_runs'));
    assert.doesNotMatch(stored, /alice/);
    await db.close();
  });

  it('runs one job at a time, whoever asks', async () => {
    const db = await open(await databasePath());
    const scheduler = new MaintenanceScheduler({ db, clock: new FakeClock(), leader: LEADER });
    let active = 0;
    let most = 0;
    for (const name of ['a', 'b', 'c']) {
      scheduler.register({
        name,
        everyMs: HOUR,
        run: async () => {
          active++;
          most = Math.max(most, active);
          await new Promise((resolve) => setTimeout(resolve, 20));
          active--;
          return {};
        },
      });
    }
    await Promise.all([scheduler.runDue(), scheduler.runNow('a'), scheduler.runNow('b')]);
    assert.equal(most, 1);
    await db.close();
  });

  it('runs nothing on a replica that does not lead, and runs what is due once it does', async () => {
    const db = await open(await databasePath());
    let leads = false;
    const scheduler = new MaintenanceScheduler({
      db,
      clock: new FakeClock(),
      leader: { isLeader: () => leads },
    });
    scheduler.register({ name: 'gc', everyMs: HOUR, run: async () => ({}) });
    assert.deepEqual(await scheduler.runDue(), []);
    assert.equal((await scheduler.jobs())[0].lastRun, null);
    leads = true;
    assert.equal((await scheduler.runDue()).length, 1);
    await db.close();
  });

  it('marks a run a dead leader left running as interrupted and runs that job again when it leads', async () => {
    const path = await databasePath();
    const clock = new FakeClock();
    // The first process starts a long run and dies in the middle (its run never ends).
    const dying = await open(path);
    const first = new MaintenanceScheduler({ db: dying, clock, leader: LEADER });
    let started!: () => void;
    const running = new Promise<void>((resolve) => {
      started = resolve;
    });
    first.register({
      name: 'retention',
      everyMs: 24 * HOUR,
      run: () => {
        started();
        return new Promise(() => {});
      },
    });
    void first.runDue();
    await running;
    assert.equal((await first.jobs())[0].lastRun?.outcome, 'running');

    // The next process over the same database.
    clock.at += 60_000;
    const db = await open(path);
    const second = new MaintenanceScheduler({ db, clock, leader: LEADER, tickMs: 10 });
    const done: number[] = [];
    second.register({
      name: 'retention',
      everyMs: 24 * HOUR,
      run: async (now) => {
        done.push(now);
        return { numbers: { devices: 1 } };
      },
    });
    second.start();
    await waitFor(() => done.length === 1);
    await second.stop();
    const [interrupted, rerun] = (await second.runs('retention')).reverse();
    assert.equal(interrupted.outcome, 'interrupted');
    assert.equal(interrupted.endedAt, clock.at);
    assert.equal(rerun.outcome, 'ok');
    assert.deepEqual(rerun.numbers, { devices: 1 });
    assert.deepEqual(await second.runDue(), [], 'done for the day');
    await db.close();
    await dying.close();
  });

  it('refuses a job name that is not a plain word, and a name registered twice', async () => {
    const db = await open(await databasePath());
    const scheduler = new MaintenanceScheduler({ db, clock: new FakeClock(), leader: LEADER });
    const job = { name: 'gc', everyMs: HOUR, run: async () => ({}) };
    scheduler.register(job);
    assert.throws(() => scheduler.register(job), /twice/);
    assert.throws(() => scheduler.register({ ...job, name: 'Bad Name' }), /not a maintenance job name/);
    assert.throws(() => scheduler.register({ ...job, name: 'zero', everyMs: 0 }), /positive/);
    await db.close();
  });
});

async function waitFor(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
