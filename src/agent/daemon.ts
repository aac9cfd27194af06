/**
 * The agent daemon (`cumulus agent run`): one per config folder, guarded by a lock file
 * holding its pid, writing a heartbeat into the state file so `agent status` and the
 * doctor can tell it is alive and responsive. `restartDaemon` stops it, drops transient
 * state (a stale lock, a backup left marked as running) and starts it clean.
 */
import { spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { deviceStatePath } from '../client/device-state.ts';
import { CumulusError } from '../core/errors.ts';
import { BackupRequests } from './backup-request.ts';
import { ConsoleSync } from './console-sync.ts';
import type { AgentContext } from './context.ts';
import { formatDuration } from './format.ts';
import { Scheduler, type SchedulerTiming } from './scheduler.ts';
import { agentCommand, systemdStarter } from './service.ts';
import { type AgentState, recordReason } from './state.ts';
import { fileWakeups } from './wakeups.ts';

export const HEARTBEAT_MS = 15_000;
/** A heartbeat older than this means the daemon is hung (or gone). */
export const RESPONSIVE_MS = 4 * HEARTBEAT_MS;

interface LockFile {
  pid: number;
  host: string;
  startedAt: number;
}

export type IsAlive = (pid: number) => boolean;

export const pidAlive: IsAlive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

async function readLock(path: string): Promise<LockFile | undefined> {
  try {
    const lock = JSON.parse(await readFile(path, 'utf8')) as LockFile;
    return typeof lock.pid === 'number' ? lock : undefined;
  } catch {
    return undefined;
  }
}

/** acquireLock takes the daemon lock, replacing a stale one; a live daemon is a CumulusError 'conflict'. */
export async function acquireLock(
  path: string,
  now: number,
  isAlive: IsAlive = pidAlive,
): Promise<() => Promise<void>> {
  const lock: LockFile = { pid: process.pid, host: hostname(), startedAt: now };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(path, JSON.stringify(lock), { flag: 'wx' });
      return async () => {
        const current = await readLock(path);
        if (current?.pid === process.pid) await rm(path, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = await readLock(path);
      if (holder && holder.pid !== process.pid && isAlive(holder.pid)) {
        throw new CumulusError('conflict', `the agent is already running (pid ${holder.pid})`, {
          hint: 'see `cumulus agent status`; `cumulus agent restart` restarts it',
        });
      }
      await rm(path, { force: true });
    }
  }
  throw new Error(`could not take the agent lock ${path}`);
}

export interface DaemonHealth {
  running: boolean;
  responsive: boolean;
  pid?: number;
  heartbeatAgeMs?: number;
  staleLock: boolean;
  /** The state says a backup is running, but no live daemon is running it. */
  stuckBackup: boolean;
  evidence: string[];
}

/** daemonHealth reads the lock and the heartbeat: is the daemon running, responsive, and is anything left over? */
export async function daemonHealth(ctx: AgentContext, isAlive: IsAlive = pidAlive): Promise<DaemonHealth> {
  const now = ctx.clock.now();
  const [lock, state] = await Promise.all([readLock(ctx.paths.lock), ctx.state.read(now)]);
  const running = lock !== undefined && isAlive(lock.pid);
  const heartbeatAgeMs =
    state.agent && state.agent.pid === lock?.pid ? now - state.agent.heartbeatAt : undefined;
  const responsive = running && heartbeatAgeMs !== undefined && heartbeatAgeMs < RESPONSIVE_MS;
  const busy = state.activity.kind === 'backing-up' || state.activity.kind === 'retrying';
  const health: DaemonHealth = {
    running,
    responsive,
    ...(lock && { pid: lock.pid }),
    ...(heartbeatAgeMs !== undefined && { heartbeatAgeMs }),
    staleLock: lock !== undefined && !running,
    stuckBackup: busy && !responsive,
    evidence: [],
  };
  if (!lock) health.evidence.push('no agent is running (no lock file)');
  else if (!running) health.evidence.push(`stale lock: pid ${lock.pid} in ${ctx.paths.lock} is not running`);
  else if (heartbeatAgeMs === undefined)
    health.evidence.push(`agent pid ${lock.pid} is running but has written no heartbeat`);
  else {
    health.evidence.push(
      `agent pid ${lock.pid} is running; last heartbeat ${formatDuration(heartbeatAgeMs)} ago${responsive ? '' : ' (not responding)'}`,
    );
  }
  if (health.stuckBackup)
    health.evidence.push(
      `a backup is marked as running since ${new Date(state.activity.since).toISOString()}, but no responsive agent runs it`,
    );
  return health;
}

/**
 * runDaemon is `cumulus agent run`: the scheduler's loop until `signal` aborts, under the
 * lock, with a heartbeat, and the console's sync beside it (src/agent/console-sync.ts).
 */
export async function runDaemon(
  ctx: AgentContext,
  signal: AbortSignal,
  options: {
    timing?: Partial<SchedulerTiming>;
    syncEveryMs?: number;
    log?: (line: string) => void;
    /** After each evaluation: the stale-backup notice (`cumulus agent run` wires it with the doctor). */
    afterEvaluation?: () => Promise<unknown>;
    /** Called when a backup fails or waits for a new reason (the CLI runs the troubleshooter). */
    onTrouble?: () => void;
  } = {},
): Promise<void> {
  const log = options.log ?? (() => {});
  await mkdir(ctx.paths.stateDir, { recursive: true, mode: 0o700 });
  const release = await acquireLock(ctx.paths.lock, ctx.clock.now());
  const startedAt = ctx.clock.now();
  const beat = () =>
    ctx.state.update(ctx.clock.now(), (s) => {
      s.agent = { pid: process.pid, version: ctx.version, startedAt, heartbeatAt: ctx.clock.now() };
    });
  try {
    await ctx.state.update(startedAt, (s) => {
      clearTransient(s, startedAt, 'agent started');
    });
    await beat();
    const heartbeat = setInterval(() => void beat().catch(() => {}), HEARTBEAT_MS);
    log(
      `cumulus agent ${ctx.version} running (pid ${process.pid}, config ${ctx.paths.configDir}, state ${ctx.paths.stateDir})`,
    );
    const requests = new BackupRequests(ctx.paths.backupRequest);
    const consoleSync = new ConsoleSync({ ...ctx, requests }).run(signal, options.syncEveryMs);
    try {
      await new Scheduler({
        ...ctx,
        timing: options.timing,
        ...(options.afterEvaluation && { afterEvaluation: options.afterEvaluation }),
        wakeups: fileWakeups(watchedFiles(ctx)),
        requests,
        ...(options.onTrouble && { onTrouble: options.onTrouble }),
      }).run(signal);
    } finally {
      clearInterval(heartbeat);
      await consoleSync;
    }
  } finally {
    await ctx.state.update(ctx.clock.now(), (s) => {
      s.agent = null;
    });
    await release();
    log('cumulus agent stopped');
  }
}

/** watchedFiles are the files whose change the scheduler acts on at once: what the owner or a test changes. */
function watchedFiles(ctx: AgentContext): string[] {
  const files = [
    ctx.paths.settings,
    ctx.paths.backupSwitch,
    ctx.paths.backupRequest,
    deviceStatePath(ctx.paths.configDir),
  ];
  if (ctx.env.CUMULUS_SENSORS) files.push(resolve(ctx.env.CUMULUS_SENSORS));
  return files;
}

/** clearTransient drops what only a running daemon may hold: a backup marked as running, its progress. */
function clearTransient(state: AgentState, now: number, why: string): void {
  if (state.activity.kind === 'backing-up' || state.activity.kind === 'retrying') {
    recordReason(
      state,
      { kind: 'stopped', message: `stopped: ${why} while a backup was marked as running; it resumes` },
      now,
    );
  }
  state.activity = { kind: 'idle', since: now, message: why };
  state.runningRequest = null;
}

/** DaemonStarter starts a detached daemon; the default runs this same `cumulus` with `agent run`. */
export type DaemonStarter = (ctx: AgentContext) => Promise<void>;

export const spawnDaemon: DaemonStarter = async (ctx) => {
  const [node, ...args] = agentCommand();
  await mkdir(ctx.paths.stateDir, { recursive: true, mode: 0o700 });
  const out = openSync(ctx.paths.log, 'a', 0o600);
  const child = spawn(node!, args, {
    detached: true,
    stdio: ['ignore', out, out],
    env: ctx.env,
  });
  child.unref();
};

/**
 * restartDaemon stops a running daemon (SIGTERM, then SIGKILL after `graceMs`), removes
 * its lock, clears transient state and starts a new one; it returns what it did.
 */
export async function restartDaemon(
  ctx: AgentContext,
  options: { start?: DaemonStarter; isAlive?: IsAlive; graceMs?: number; waitMs?: number } = {},
): Promise<string[]> {
  const isAlive = options.isAlive ?? pidAlive;
  const done: string[] = [];
  const lock = await readLock(ctx.paths.lock);
  if (lock && lock.pid !== process.pid && isAlive(lock.pid)) {
    process.kill(lock.pid, 'SIGTERM');
    if (!(await waitFor(() => !isAlive(lock.pid), options.graceMs ?? 10_000))) {
      process.kill(lock.pid, 'SIGKILL');
      await waitFor(() => !isAlive(lock.pid), 2_000);
      done.push(`stopped the agent (pid ${lock.pid}) by force: it did not stop within the grace period`);
    } else {
      done.push(`stopped the agent (pid ${lock.pid})`);
    }
  } else if (lock) {
    done.push(`removed a stale lock left by pid ${lock.pid}`);
  }
  await rm(ctx.paths.lock, { force: true });
  await ctx.state.update(ctx.clock.now(), (s) => {
    s.agent = null;
    clearTransient(s, ctx.clock.now(), 'agent restarted');
  });
  await (options.start ?? spawnDaemon)(ctx);
  const started = await waitFor(
    async () => (await daemonHealth(ctx, isAlive)).responsive,
    options.waitMs ?? 10_000,
  );
  done.push(
    started
      ? 'started a new agent; it is responding'
      : `started a new agent, not responding yet (see ${ctx.paths.log})`,
  );
  return done;
}

async function waitFor(test: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    if (await test()) return true;
    if (Date.now() >= end) return false;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** restartAgent is `cumulus agent restart`: through the systemd unit when it runs the agent, else detached. */
export async function restartAgent(ctx: AgentContext): Promise<string[]> {
  const viaSystemd = await systemdStarter();
  return restartDaemon(ctx, viaSystemd ? { start: viaSystemd } : {});
}
