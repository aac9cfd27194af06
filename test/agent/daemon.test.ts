/**
 * The real daemon: `cumulus agent run` as a process, with a simulated sensor profile and
 * its own config folder; `agent status`, `status --json` and `agent restart` against it.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';

const BIN = new URL('../../bin/cumulus.js', import.meta.url).pathname;
const run = promisify(execFile);

let dir: string;
let env: NodeJS.ProcessEnv;
const started: number[] = [];

async function cumulus(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { env });
    return { stdout, stderr, code: 0 };
  } catch (error) {
    const e = error as { stdout: string; stderr: string; code: number };
    return { stdout: e.stdout, stderr: e.stderr, code: e.code };
  }
}

async function lockPid(): Promise<number | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, 'config', 'agent.lock'), 'utf8')).pid;
  } catch {
    return undefined;
  }
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cumulus-daemon-'));
  await mkdir(join(dir, 'home', 'Documents'), { recursive: true });
  await writeFile(join(dir, 'sensors.json'), JSON.stringify({ power: { ac: false, batteryPercent: 34 } }));
  env = {
    ...process.env,
    HOME: join(dir, 'home'),
    CUMULUS_CONFIG_DIR: join(dir, 'config'),
    CUMULUS_SENSORS: join(dir, 'sensors.json'),
  };
});

after(async () => {
  for (const pid of started) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {}
  }
  const pid = await lockPid();
  if (pid && !started.includes(pid)) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {}
  }
  await new Promise((resolve) => setTimeout(resolve, 300));
  await rm(dir, { recursive: true, force: true });
});

describe('cumulus agent', () => {
  it('enable picks the default folders that exist', async () => {
    const result = await cumulus('enable', '--yes');
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /Backup is on for this device\.\nBacking up: .*home\/Documents/);
  });

  it('run holds the lock, writes a heartbeat, and records why it waits; a second run refuses', async () => {
    const child = spawn(process.execPath, [BIN, 'agent', 'run'], { env, stdio: 'ignore' });
    started.push(child.pid!);
    const pid = await until('the lock', lockPid);
    assert.equal(pid, child.pid);
    const status = await until('a waiting status', async () => {
      const out = await cumulus('status', '--json');
      const report = JSON.parse(out.stdout);
      return report.activity.kind === 'waiting' ? report : undefined;
    });
    assert.equal(status.agent.running, true);
    assert.equal(status.agent.responsive, true);
    assert.match(status.activity.message, /^waiting: not signed in; on battery \(34%\)$/);
    assert.equal(status.nextStep, 'sign in: cumulus login URL');

    const text = await cumulus('status');
    assert.match(text.stdout, /Now: {10}waiting: not signed in; on battery \(34%\) since \d\d:\d\d/);

    const health = await cumulus('agent', 'status');
    assert.equal(health.code, 0);
    assert.match(health.stdout, new RegExp(`agent pid ${pid} is running; last heartbeat`));

    const second = await cumulus('agent', 'run');
    assert.notEqual(second.code, 0);
    assert.match(second.stderr, new RegExp(`the agent is already running \\(pid ${pid}\\)`));
  });

  it('restart stops it and starts a clean one that responds', async () => {
    const before = (await lockPid())!;
    const result = await cumulus('agent', 'restart');
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stdout,
      new RegExp(`stopped the agent \\(pid ${before}\\)\nstarted a new agent; it is responding`),
    );
    const after = (await lockPid())!;
    started.push(after);
    assert.notEqual(after, before);
    assert.throws(() => process.kill(before, 0), 'the old agent is gone');

    process.kill(after, 'SIGTERM');
    await until('the lock to go', async () => ((await lockPid()) === undefined ? true : undefined));
    const health = await cumulus('agent', 'status');
    assert.equal(health.code, 1);
    assert.match(health.stdout, /no agent is running/);
  });

  it('doctor reports the simulated battery and exits non-zero', async () => {
    const result = await cumulus('doctor', '--json');
    assert.equal(result.code, 1);
    const report = JSON.parse(result.stdout);
    const power = report.checks.find((c: { id: string }) => c.id === 'power');
    assert.equal(power.status, 'fail');
    assert.match(power.evidence[0], /on battery \(34%\)/);
  });
});
