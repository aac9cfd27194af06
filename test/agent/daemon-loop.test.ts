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
async function onBattery(t: TestContext, timing?: Partial<SchedulerTiming>): Promise<OnBattery> {
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
  const daemon = runDaemon(ctx, abort.signal, { timing });
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
  await new Promise((resolve) => setTimeout(resolve, 400));
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
