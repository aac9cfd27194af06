/**
 * The daemon loop on real time: simulated sensors flip from battery to AC, and the backup
 * happens then and only then; stopping the daemon releases its lock.
 */
import assert from 'node:assert/strict';
import { access, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { systemClock } from '../../src/agent/clock.ts';
import { localContext } from '../../src/agent/context.ts';
import { runDaemon } from '../../src/agent/daemon.ts';
import { enableBackup } from '../../src/agent/enable.ts';
import { SimulatedSensors } from '../../src/agent/sensors/simulated.ts';
import { agentStatus } from '../../src/agent/status.ts';
import { FakeDeviceState, FakeEngine, FakeServer, GOOD_PROFILE } from './fakes.ts';

it('backs up exactly when the simulated sensors say every condition holds', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cumulus-loop-'));
  const stop = new AbortController();
  try {
    const profile = join(dir, 'sensors.json');
    await writeFile(profile, JSON.stringify({ ...GOOD_PROFILE, power: { ac: false, batteryPercent: 34 } }));
    await mkdir(join(dir, 'home', 'Pictures'), { recursive: true });
    const engine = new FakeEngine(systemClock);
    engine.chunkMs = 5;
    const server = new FakeServer(systemClock);
    const ctx = localContext(
      {
        clock: systemClock,
        sensors: new SimulatedSensors(profile, systemClock),
        server,
        runner: engine,
        deviceState: new FakeDeviceState(),
      },
      { HOME: join(dir, 'home'), CUMULUS_CONFIG_DIR: join(dir, 'config') },
    );
    await enableBackup(ctx);
    const daemon = runDaemon(ctx, stop.signal, { timing: { pollMs: 50, recheckMs: 20 } });

    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.equal(engine.runs, 0, 'no backup on battery');
    const waiting = await agentStatus(ctx);
    assert.equal(waiting.agent.responsive, true);
    assert.equal(waiting.activity.message, 'waiting: on battery (34%)');

    await writeFile(profile, JSON.stringify(GOOD_PROFILE));
    const deadline = Date.now() + 5_000;
    while (engine.runs === 0 || (await ctx.state.read(Date.now())).lastSuccess === null) {
      assert.ok(Date.now() < deadline, 'the backup ran after plugging in');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const done = await agentStatus(ctx);
    assert.equal(done.lastSuccess?.snapshotId, 'snap-1');
    assert.equal(engine.runs, 1);
    assert.equal(server.reports.at(-1)?.kind, 'success');

    stop.abort();
    await daemon;
    await assert.rejects(access(ctx.paths.lock), 'the lock is released');
    assert.equal((await ctx.state.read(Date.now())).agent, null);
  } finally {
    stop.abort();
    await rm(dir, { recursive: true, force: true });
  }
});

it('acts on a changed profile at once, not at the next poll, and is not woken by its own writes', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cumulus-wake-'));
  const stop = new AbortController();
  let daemon: Promise<void> | undefined;
  try {
    const profile = join(dir, 'sensors.json');
    await writeFile(profile, JSON.stringify({ ...GOOD_PROFILE, power: { ac: false, batteryPercent: 34 } }));
    await mkdir(join(dir, 'home', 'Pictures'), { recursive: true });
    const engine = new FakeEngine(systemClock);
    engine.chunkMs = 5;
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
        server: new FakeServer(systemClock),
        runner: engine,
        deviceState: new FakeDeviceState(),
      },
      { HOME: join(dir, 'home'), CUMULUS_CONFIG_DIR: join(dir, 'config'), CUMULUS_SENSORS: profile },
    );
    await enableBackup(ctx);
    // The default poll is a minute: only a wakeup can start this backup within the test.
    daemon = runDaemon(ctx, stop.signal);
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(reads, 1, 'one evaluation while nothing changed, though the agent wrote its state');
    assert.equal(engine.runs, 0);

    await writeFile(profile, JSON.stringify(GOOD_PROFILE));
    const deadline = Date.now() + 3_000;
    while ((await ctx.state.read(Date.now())).lastSuccess === null) {
      assert.ok(Date.now() < deadline, 'the backup ran when the profile changed');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(engine.runs, 1);
    stop.abort();
    await daemon;
  } finally {
    stop.abort();
    await daemon?.catch(() => {});
    await rm(dir, { recursive: true, force: true });
  }
});
