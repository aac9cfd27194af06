/**
 * The daemon loop on real time: simulated sensors flip from battery to AC, and the backup
 * happens then and only then — found by the poll, or at once through a wakeup when the
 * profile changes; stopping the daemon releases its lock.
 */
import assert from 'node:assert/strict';
import { access, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { systemClock } from '../../src/agent/clock.ts';
import { type AgentContext, localContext } from '../../src/agent/context.ts';
import { runDaemon } from '../../src/agent/daemon.ts';
import { enableBackup } from '../../src/agent/enable.ts';
import type { SchedulerTiming } from '../../src/agent/scheduler.ts';
import { SimulatedSensors } from '../../src/agent/sensors/simulated.ts';
import { agentStatus } from '../../src/agent/status.ts';
import { FakeDeviceState, FakeEngine, FakeServer, GOOD_PROFILE } from './fakes.ts';

interface OnBattery {
  ctx: AgentContext;
  engine: FakeEngine;
  server: FakeServer;
  /** How many times the sensors were read. */
  reads: () => number;
  plugIn: () => Promise<void>;
  stop: () => Promise<void>;
}

/** onBattery starts a daemon, backup enabled, on a simulated profile that is on battery (34%). */
async function onBattery(
  t: TestContext,
  timing?: Partial<SchedulerTiming>,
  syncEveryMs?: number,
): Promise<OnBattery> {
  const dir = await mkdtemp(join(tmpdir(), 'cumulus-loop-'));
  const profile = join(dir, 'sensors.json');
  await writeFile(profile, JSON.stringify({ ...GOOD_PROFILE, power: { ac: false, batteryPercent: 34 } }));
  await mkdir(join(dir, 'home', 'Pictures'), { recursive: true });
  const engine = new FakeEngine(systemClock);
  engine.chunkMs = 5;
  const server = new FakeServer(systemClock);
  const simulated = new SimulatedSensors(profile, systemClock);
  let reads = 0;
  const ctx = localContext(
    {
      clock: systemClock,
      sensors: {
        read: () => {
          reads++;
          return simulated.read();
        },
      },
      server,
      runner: engine,
      deviceState: new FakeDeviceState(),
    },
    { HOME: join(dir, 'home'), CUMULUS_CONFIG_DIR: join(dir, 'config'), CUMULUS_SENSORS: profile },
  );
  await enableBackup(ctx);
  const abort = new AbortController();
  const daemon = runDaemon(ctx, abort.signal, { timing, ...(syncEveryMs !== undefined && { syncEveryMs }) });
  const stop = async () => {
    abort.abort();
    await daemon;
  };
  t.after(async () => {
    await stop().catch(() => {});
    await rm(dir, { recursive: true, force: true });
  });
  return {
    ctx,
    engine,
    server,
    reads: () => reads,
    plugIn: () => writeFile(profile, JSON.stringify(GOOD_PROFILE)),
    stop,
  };
}

async function backedUp(ctx: AgentContext, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while ((await ctx.state.read(Date.now())).lastSuccess === null) {
    assert.ok(Date.now() < deadline, 'the backup ran after plugging in');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test('backs up exactly when the simulated sensors say every condition holds', async (t) => {
  const { ctx, engine, server, plugIn, stop } = await onBattery(t, { pollMs: 50, recheckMs: 20 });
  // Several evaluations on battery (a slow machine may need more than a few hundred ms for them).
  const deadline = Date.now() + 10_000;
  while (((await ctx.state.read(Date.now())).reasons.at(-1)?.count ?? 0) < 3) {
    assert.ok(Date.now() < deadline, 'the agent evaluated on battery');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.equal(engine.runs, 0, 'no backup on battery');
  const waiting = await agentStatus(ctx);
  assert.equal(waiting.agent.responsive, true);
  assert.equal(waiting.activity.message, 'waiting: on battery (34%)');

  await plugIn();
  await backedUp(ctx, 5_000);
  const done = await agentStatus(ctx);
  assert.equal(done.lastSuccess?.snapshotId, 'snap-1');
  assert.equal(engine.runs, 1);
  assert.equal(server.reports.at(-1)?.kind, 'success');

  await stop();
  await assert.rejects(access(ctx.paths.lock), 'the lock is released');
  assert.equal((await ctx.state.read(Date.now())).agent, null);
});

test('acts on a changed profile at once, not at the next poll, and is not woken by its own writes', async (t) => {
  // The default poll is a minute: only a wakeup can start this backup within the test.
  const { ctx, engine, reads, plugIn } = await onBattery(t);
  await new Promise((resolve) => setTimeout(resolve, 500));
  assert.equal(reads(), 1, 'one evaluation while nothing changed, though the agent wrote its state');
  assert.equal(engine.runs, 0);

  await plugIn();
  await backedUp(ctx, 3_000);
  assert.equal(engine.runs, 1);
});

test("the console's Back Up Now runs at the next sync, on battery, and is taken once", async (t) => {
  const { ctx, engine, server } = await onBattery(t, undefined, 50);
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(engine.runs, 0, 'no automatic backup on battery');
  const requestedAt = Date.now();
  server.backupRequest = { requestedAt };
  await backedUp(ctx, 5_000);
  assert.equal(server.backupRequest, null, 'the agent said it took the request');
  assert.ok(server.syncs.some((s) => s.takenRequestAt === requestedAt));
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(engine.runs, 1, 'one backup per request');
  assert.equal(server.reports.at(-1)?.kind, 'success');
  assert.ok(
    server.syncs.at(-1)!.nextDueAt! > Date.now(),
    'the agent reports when the next automatic backup is due',
  );
});

test("the switch is one state: the console's change reaches the device, the device's own goes up", async (t) => {
  const { ctx, server } = await onBattery(t, undefined, 50);
  const until = async (what: string, test: () => Promise<boolean>) => {
    const deadline = Date.now() + 5_000;
    while (!(await test())) {
      assert.ok(Date.now() < deadline, what);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  const agreed = async () => {
    const [local, state] = await Promise.all([ctx.backupSwitch.read(), ctx.state.read(Date.now())]);
    return state.switchSynced?.enabled === local.enabled && state.switchSynced.changedAt === local.changedAt;
  };
  await until('the first sync gives the server the switch', async () => server.switch_?.enabled === true);
  await until('the device remembers it as agreed', agreed);

  server.switch_ = { enabled: false, changedAt: Date.now() };
  await until(
    'the console switched it off on the device',
    async () => !(await ctx.backupSwitch.read()).enabled,
  );
  assert.deepEqual(await ctx.backupSwitch.read(), server.switch_);
  await until('agreed', agreed);

  // `cumulus enable` on the device, with a clock far behind the server's: it still wins.
  await ctx.backupSwitch.write(true, server.switch_.changedAt! - 3_600_000);
  await until('the device change reached the server', async () => server.switch_?.enabled === true);
  await until('and is agreed', agreed);
  assert.equal((await ctx.backupSwitch.read()).enabled, true);
});
