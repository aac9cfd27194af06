/**
 * backUpNow is "back up now" (`cumulus backup` on a signed-in device). When the agent
 * runs, the request goes to it (src/agent/backup-request.ts), so a single process backs
 * the device up and writes its state, and this follows the progress and the result in the
 * state file; with no agent running, the backup runs here, journaled like the agent's.
 */
import { CumulusError, type ErrorCode } from '../core/errors.ts';
import { BackupRequests, type RequestResult } from './backup-request.ts';
import type { AgentContext } from './context.ts';
import { daemonHealth } from './daemon.ts';
import type { BackupProgress } from './ports.ts';
import { Scheduler, type TickResult } from './scheduler.ts';

/** A responsive agent takes a request at its next evaluation: at once on the file's watch, else at its poll (a minute). */
const TAKE_TIMEOUT_MS = 90_000;

export interface BackUpNowOptions {
  /** Stops a backup run here; a backup the agent runs goes on, and this stops following it. */
  signal?: AbortSignal;
  onProgress: (progress: BackupProgress) => void;
  /** Said once when the request waits behind a backup the agent is already running. */
  onNotice?: (line: string) => void;
  /** How often the state file is read while the agent works. */
  pollMs?: number;
}

export async function backUpNow(ctx: AgentContext, options: BackUpNowOptions): Promise<TickResult> {
  const health = await daemonHealth(ctx);
  if (!health.running || health.pid === undefined) return backUpHere(ctx, options);
  return handToAgent(ctx, health.pid, options);
}

function backUpHere(ctx: AgentContext, options: BackUpNowOptions): Promise<TickResult> {
  return new Scheduler(ctx).backupNow({
    onProgress: options.onProgress,
    ...(options.signal && { signal: options.signal }),
  });
}

async function handToAgent(ctx: AgentContext, pid: number, options: BackUpNowOptions): Promise<TickResult> {
  const pollMs = options.pollMs ?? 250;
  const requests = new BackupRequests(ctx.paths.backupRequest);
  const request = await requests.submit(ctx.clock.now());
  const takeBy = Date.now() + TAKE_TIMEOUT_MS;
  let waitingSaid = false;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, pollMs));
    if (options.signal?.aborted) {
      options.onNotice?.('the agent goes on with the backup; `cumulus status` follows it');
      return { kind: 'stopped', blockers: [] };
    }
    const state = await ctx.state.read(ctx.clock.now());
    if (state.lastRequest?.id === request.id) return tickResult(state.lastRequest);
    if (state.runningRequest === request.id && state.activity.progress)
      options.onProgress(state.activity.progress);
    const health = await daemonHealth(ctx);
    const pending = await requests.pending();
    if (!health.running || health.pid !== pid) {
      // Gone before taking the request: back up here instead; gone while running it: it stopped.
      if (pending && (await requests.take())) return backUpHere(ctx, options);
      return { kind: 'stopped', blockers: [] };
    }
    if (!pending) continue;
    const busy = state.activity.kind === 'backing-up' || state.activity.kind === 'retrying';
    if (busy && !waitingSaid) {
      options.onNotice?.('the agent is finishing a backup it had started; yours starts right after');
      waitingSaid = true;
    }
    if (!health.responsive || (!busy && Date.now() > takeBy)) {
      await requests.take();
      throw new CumulusError('conflict', `the agent (pid ${pid}) did not take the backup request`, {
        hint: 'cumulus doctor says why; `cumulus agent restart` restarts it',
      });
    }
  }
}

/** tickResult turns what the agent recorded back into the result of a backup run here. */
function tickResult(result: RequestResult): TickResult {
  switch (result.kind) {
    case 'completed':
      return { kind: 'completed', outcome: result.outcome };
    case 'failed':
      return {
        kind: 'failed',
        error:
          result.code === 'internal'
            ? new Error(result.message)
            : new CumulusError(result.code as ErrorCode, result.message, {
                ...(result.hint !== undefined && { hint: result.hint }),
              }),
      };
    case 'stopped':
      return { kind: 'stopped', blockers: [] };
  }
}
