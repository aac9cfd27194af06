/**
 * The agent against the real server: the AgentServer and DeviceStatePort adapters over a
 * signed-in device, seen through `cumulus status` data, the scheduler and the doctor.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { machineContext } from '../../src/agent/context.ts';
import { runChecks } from '../../src/agent/doctor/doctor.ts';
import type { DoctorDeps } from '../../src/agent/doctor/types.ts';
import { enableBackup } from '../../src/agent/enable.ts';
import { Scheduler } from '../../src/agent/scheduler.ts';
import * as auth from '../../src/api/auth.ts';
import { listDevices } from '../../src/api/devices.ts';
import { AccountClient } from '../../src/client/account-client.ts';
import { derivePasswordKeys, newKdfParams } from '../../src/client/account-keys.ts';
import { type DeviceState, saveDeviceState } from '../../src/client/device-state.ts';
import { signIn } from '../../src/client/sign-in.ts';
import { TEST_KDF } from '../../src/core/keys.ts';
import { parseServerConfig } from '../../src/server/config.ts';
import { LOCAL_ADMIN } from '../../src/server/services/caller.ts';
import { type RunningServer, startServer } from '../../src/server/start.ts';

let dir: string;
let server: RunningServer;
let state: DeviceState;
let env: NodeJS.ProcessEnv;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cumulus-agent-server-'));
  server = await startServer(
    { ...parseServerConfig({ data: join(dir, 'server'), port: '0' }, {}), logLevel: 'silent' },
    { authHashCost: { N: 1024, r: 8, p: 1 }, statusCacheMs: 0, logStream: { write: () => {} } },
  );
  const kdf = newKdfParams(TEST_KDF);
  const { authKey } = await derivePasswordKeys('correct horse', kdf);
  await server.services.accounts.create(LOCAL_ADMIN, { email: 'me@example.com', kdf, authKey });
  const result = await signIn({
    serverUrl: server.url,
    email: 'me@example.com',
    password: 'correct horse',
    device: { name: 'laptop', platform: 'linux-x64', agentVersion: '0.1.0' },
  });
  assert.ok('state' in result);
  state = result.state;
  env = {
    HOME: join(dir, 'home'),
    CUMULUS_CONFIG_DIR: join(dir, 'config'),
    CUMULUS_SENSORS: join(dir, 'sensors.json'),
  };
  await saveDeviceState(state, env.CUMULUS_CONFIG_DIR);
  await mkdir(join(dir, 'home', 'Documents'), { recursive: true });
  await writeFile(join(dir, 'home', 'Documents', 'a.txt'), 'x'.repeat(5000));
  await writeFile(env.CUMULUS_SENSORS!, JSON.stringify({ power: { ac: false, batteryPercent: 34 } }));
});

after(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

function deps(): DoctorDeps {
  const ctx = machineContext(env);
  return {
    ...ctx,
    daemon: {
      health: async () => ({
        running: true,
        responsive: true,
        staleLock: false,
        stuckBackup: false,
        evidence: ['fake agent'],
      }),
      restart: async () => [],
    },
    update: async () => [],
    diskSpace: async () => ({ freeBytes: 10e9, totalBytes: 100e9 }),
  };
}

describe('the agent against the real server', () => {
  it('reads the sign-in state and the server: session, status, plan usage, plans, releases', async () => {
    const ctx = machineContext(env);
    assert.deepEqual(await ctx.deviceState.read(), {
      serverUrl: state.serverUrl,
      deviceId: state.deviceId,
      deviceName: 'laptop',
      accountKeyPresent: true,
    });
    const session = await ctx.server.session();
    assert.equal(session.valid, true);
    assert.ok(Math.abs(session.serverTime - Date.now()) < 60_000);
    assert.ok((await ctx.server.ping()) >= 0);
    const status = await ctx.server.status();
    assert.ok(['operational', 'degraded'].includes(status.overall), JSON.stringify(status));
    const usage = await ctx.server.usage();
    assert.equal(usage.usedBytes, 0);
    assert.ok(usage.plan.quotaBytes > 0);
    assert.ok((await ctx.server.plans()).some((p) => p.id === usage.plan.id));
    assert.equal(
      (await ctx.server.latestRelease()).latest,
      ctx.version,
      'no release published: this one is the latest',
    );
  });

  it('a waiting reason reaches the server, which keeps it for the console', async () => {
    const ctx = machineContext(env);
    await enableBackup(ctx);
    const result = await new Scheduler(ctx).tick();
    assert.equal(result.kind, 'waiting');
    const { devices } = await new AccountClient({ serverUrl: state.serverUrl, token: state.token }).call(
      listDevices,
      {},
    );
    const laptop = devices.find((d) => d.id === state.deviceId)!;
    assert.equal(laptop.lastOutcome, 'skipped');
    assert.equal(laptop.lastReason, 'waiting: on battery (34%)');
  });

  it('the doctor sees the real server: an old agent, then a revoked session', async () => {
    await writeFile(env.CUMULUS_SENSORS!, JSON.stringify({ power: { ac: true } }));
    let checks = await runChecks(deps());
    const byId = (id: string) => checks.find((c) => c.id === id)!;
    assert.equal(byId('sign-in').status, 'ok', byId('sign-in').evidence.join('\n'));
    assert.equal(byId('storage').status, 'ok', byId('storage').evidence.join('\n'));
    assert.match(
      byId('storage').evidence[1],
      /the next backup will add about 5.0 kB \(1 file\(s\), dry scan\)/,
    );
    assert.equal(byId('update').status, 'ok');

    await server.services.releases.publish(LOCAL_ADMIN, {
      version: '9.0.0',
      minimumVersion: '8.0.0',
      notes: 'new',
    });
    checks = await runChecks(deps());
    assert.equal(byId('update').status, 'fail');
    assert.match(byId('update').evidence.join('\n'), /minimum the server accepts: 8.0.0/);

    await new AccountClient({ serverUrl: state.serverUrl, token: state.token }).call(auth.logout, {});
    checks = await runChecks(deps());
    assert.equal(byId('sign-in').status, 'fail');
    assert.match(byId('sign-in').evidence.join('\n'), /the session was revoked/);
    assert.match(byId('sign-in').fix![0], new RegExp(`cumulus login ${state.serverUrl}`));
  });
});
