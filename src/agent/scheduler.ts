/**
 * Scheduler decides when an automatic backup runs and records why when one does not.
 *
 * A backup is due `schedule.intervalHours` after the last one that stored a snapshot
 * (counted on wall time, so a machine that slept through its window is due at once when
 * it wakes). When due, it starts at the first evaluation where every condition holds.
 * While it runs, the conditions are re-checked every `recheckMs`: when one stops holding,
 * the backup is aborted through its AbortSignal and, still due, resumes at the next
 * chance (the engine skips what is already stored). A dropped connection is retried with
 * exponential backoff; any other failure waits `failureRetryMs`, doubling, before the
 * next try. Every evaluation and outcome goes into the state journal and to the server.
 * A "back up now" request (`cumulus backup`) runs at the next evaluation, whatever the
 * schedule and the conditions, since the owner asked.
 */
import { isCumulusError } from '../core/errors.ts';
import { formatBytes } from '../core/units.ts';
import type { BackupRequest, RequestResult } from './backup-request.ts';
import type { BackupSwitch } from './backup-switch.ts';
import {
  type Blocker,
  type ConditionInputs,
  evaluateConditions,
  type ServerFacts,
  type Values,
} from './conditions.ts';
import { formatDuration, formatWhen } from './format.ts';
import type {
  AgentServer,
  BackupOutcome,
  BackupProgress,
  BackupRunner,
  Clock,
  DeviceStatePort,
  OutcomeReport,
  Wakeups,
} from './ports.ts';
import type { SensorReading, Sensors } from './sensors/sensors.ts';
import { gatherServerFacts } from './server-facts.ts';
import type { Settings, SettingsStore } from './settings.ts';
import { type AgentState, type ReasonKind, recordReason, type StateStore } from './state.ts';

/**
 * TOKEN_VALUES are the values whose strings come from a fixed set — the network's type and
 * metered state (`cellular`, `unknown`), the service's level — so the console can say them.
 */
const TOKEN_VALUES = new Set(['type', 'metered', 'status']);

export interface SchedulerTiming {
  /** How often to evaluate while waiting. */
  pollMs: number;
  /** How often to re-check the conditions while a backup runs. */
  recheckMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** Attempts for one backup when the connection keeps dropping. */
  retryAttempts: number;
  /** Wait after a failed backup before the next try; doubles per consecutive failure, up to the interval. */
  failureRetryMs: number;
  /** Wall time passing this much more than a sleep asked for means the machine was suspended. */
  jumpToleranceMs: number;
  /** How often progress is written to the state file and sent to the server. */
  progressEveryMs: number;
}

export const DEFAULT_TIMING: SchedulerTiming = {
  pollMs: 60_000,
  recheckMs: 5_000,
  retryBaseMs: 5_000,
  retryMaxMs: 5 * 60_000,
  retryAttempts: 8,
  failureRetryMs: 15 * 60_000,
  jumpToleranceMs: 30_000,
  progressEveryMs: 5_000,
};

export interface SchedulerDeps {
  clock: Clock;
  sensors: Sensors;
  server: AgentServer;
  runner: BackupRunner;
  settings: Pick<SettingsStore, 'inspect'>;
  backupSwitch: Pick<BackupSwitch, 'read'>;
  deviceState: DeviceStatePort;
  state: StateStore;
  timing?: Partial<SchedulerTiming>;
  /** Changes that cut the wait between evaluations short. */
  wakeups?: Wakeups;
  /** "Back up now" requests from `cumulus backup`, taken at every evaluation. */
  requests?: { take(): Promise<BackupRequest | undefined> };
  /** Runs after each evaluation of `run` (the daemon's stale-backup notice); its failure is ignored. */
  afterEvaluation?: () => Promise<unknown>;
  /** Called when a backup fails or starts waiting for a new reason (the troubleshooter runs the doctor). */
  onTrouble?: () => void;
}

export type TickResult =
  | { kind: 'not-due'; dueAt: number }
  | { kind: 'waiting'; blockers: Blocker[] }
  | { kind: 'completed'; outcome: BackupOutcome }
  | { kind: 'stopped'; blockers: Blocker[] }
  | { kind: 'failed'; error: unknown };

/** StopRequest is the abort reason when the conditions stopped holding mid-backup. */
class StopRequest extends Error {
  readonly blockers: Blocker[];

  constructor(blockers: Blocker[]) {
    super(`stopped: ${describeBlockers(blockers)}`);
    this.blockers = blockers;
  }
}

export class Scheduler {
  readonly #deps: SchedulerDeps;
  readonly timing: SchedulerTiming;

  constructor(deps: SchedulerDeps) {
    this.#deps = deps;
    this.timing = { ...DEFAULT_TIMING, ...deps.timing };
  }

  /**
   * run evaluates every `pollMs`, and at once when a wakeup says something changed, until
   * `signal` aborts, noticing when the machine slept in between.
   */
  async run(signal: AbortSignal): Promise<void> {
    const { clock } = this.#deps;
    let nap = new AbortController();
    const unwatch = this.#deps.wakeups?.(() => nap.abort());
    try {
      while (!signal.aborted) {
        try {
          await this.tick(signal);
        } catch (error) {
          // One bad evaluation (a full disk for state.json, say) must not end the agent.
          await this.#record({
            kind: 'failed',
            message: `the agent could not evaluate: ${(error as Error).message}`,
          }).catch(() => {});
        }
        await this.#deps.afterEvaluation?.().catch(() => {});
        const before = clock.now();
        try {
          await clock.sleep(this.timing.pollMs, AbortSignal.any([signal, nap.signal]));
        } catch {
          if (signal.aborted) break;
          nap = new AbortController();
          continue;
        }
        const away = clock.now() - before - this.timing.pollMs;
        if (away > this.timing.jumpToleranceMs) {
          await this.#record({
            kind: 'woke',
            message: `the device was asleep for ${formatDuration(away)}; checking whether a backup is due`,
            values: { asleepMs: away },
          });
        }
      }
    } finally {
      unwatch?.();
    }
  }

  /**
   * tick is one evaluation: it runs a requested backup, or starts a scheduled one when it
   * is due and every condition holds.
   */
  async tick(signal?: AbortSignal): Promise<TickResult> {
    const request = await this.#deps.requests?.take();
    if (request) return this.#requested(request, signal);
    const { clock } = this.#deps;
    const now = clock.now();
    const [state, inspection, backupSwitch] = await Promise.all([
      this.#deps.state.read(now),
      this.#deps.settings.inspect(),
      this.#deps.backupSwitch.read(),
    ]);
    const settings = inspection.settings;
    const dueAt = this.#dueAt(state, settings);
    if (backupSwitch.enabled && now < dueAt) {
      await this.#update((s) => {
        s.nextDueAt = dueAt;
        const message = `next backup due at ${formatWhen(dueAt)}`;
        recordReason(s, { kind: 'scheduled', message, values: { dueAt } }, now);
        s.activity = { kind: 'idle', since: s.reasons.at(-1)!.since, message };
      });
      return { kind: 'not-due', dueAt };
    }
    const inputs = await this.#inputs(settings, inspection.problems, backupSwitch.enabled);
    const readiness = evaluateConditions(inputs);
    if (!readiness.ready) {
      await this.#wait(readiness.blockers, dueAt);
      return { kind: 'waiting', blockers: readiness.blockers };
    }
    return this.#backup(settings, { monitor: inputs, signal });
  }

  /**
   * backupNow is "back up now" (`cumulus backup` on a device): it starts at once, whatever
   * the schedule and the conditions, since the owner asked, and is journaled, reported and
   * retried like an automatic backup.
   */
  async backupNow(
    options: { signal?: AbortSignal; onProgress?: (progress: BackupProgress) => void } = {},
  ): Promise<TickResult> {
    const { settings } = await this.#deps.settings.inspect();
    return this.#backup(settings, { ...options, manual: true });
  }

  /** requested runs a backup `cumulus backup` asked for and records how it ended under the request's id. */
  async #requested(request: BackupRequest, signal?: AbortSignal): Promise<TickResult> {
    await this.#update((s) => {
      s.runningRequest = request.id;
    });
    const result = await this.backupNow({ ...(signal && { signal }) });
    await this.#update((s) => {
      s.runningRequest = null;
      s.lastRequest = requestResult(request.id, result);
    });
    return result;
  }

  #dueAt(state: AgentState, settings: Settings): number {
    const interval = settings.schedule.intervalHours * 3_600_000;
    let dueAt = state.lastCompletedAt === null ? 0 : state.lastCompletedAt + interval;
    if (state.lastFailure && state.consecutiveFailures > 0) {
      const wait = Math.min(this.timing.failureRetryMs * 2 ** (state.consecutiveFailures - 1), interval);
      dueAt = Math.max(dueAt, state.lastFailure.at + wait);
    }
    return dueAt;
  }

  async #inputs(
    settings: Settings,
    settingsProblems: string[],
    backupEnabled: boolean,
  ): Promise<ConditionInputs> {
    const reading = await this.#read();
    const online = !('error' in reading) && reading.network.online;
    const server: ServerFacts =
      backupEnabled && online
        ? await gatherServerFacts(this.#deps.server, this.#deps.deviceState, settings)
        : { signedIn: (await this.#deps.deviceState.read().catch(() => null)) !== null };
    return { settings, settingsProblems, backupEnabled, reading, server };
  }

  async #read(): Promise<SensorReading | { error: string }> {
    try {
      return await this.#deps.sensors.read();
    } catch (error) {
      return { error: (error as Error).message };
    }
  }

  async #wait(blockers: Blocker[], dueAt: number): Promise<void> {
    const now = this.#deps.clock.now();
    const message = `waiting: ${describeBlockers(blockers)}`;
    const state = await this.#update((s) => {
      s.nextDueAt = dueAt;
      recordReason(
        s,
        { kind: 'waiting', message, conditions: conditionsOf(blockers), values: valuesOf(blockers) },
        now,
      );
      s.activity = { kind: 'waiting', since: s.reasons.at(-1)!.since, message };
    });
    if (state.reasons.at(-1)?.count === 1) {
      await this.#report('waiting', conditionsOf(blockers), valuesOf(blockers));
      this.#deps.onTrouble?.();
    }
  }

  /**
   * backup runs one backup of the settings' sources; with `monitor` it re-checks those
   * conditions while it runs and stops when one no longer holds.
   */
  async #backup(
    settings: Settings,
    options: {
      monitor?: ConditionInputs;
      signal?: AbortSignal;
      onProgress?: (progress: BackupProgress) => void;
      manual?: boolean;
    },
  ): Promise<TickResult> {
    const { clock, runner } = this.#deps;
    const sources = settings.sources;
    const stop = new AbortController();
    const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
    const monitorDone = new AbortController();
    const monitor = options.monitor && this.#monitor(options.monitor, stop, monitorDone.signal);
    const startedAt = clock.now();
    await this.#record({
      kind: 'started',
      message: `backing up ${sources.length} folder(s)${options.manual ? ', as asked (cumulus backup)' : ''}`,
      values: { sources: sources.length },
    });
    await this.#update((s) => {
      s.activity = { kind: 'backing-up', since: startedAt, message: 'backing up' };
    });
    const report = this.#progressReporter();
    const onProgress = (progress: BackupProgress) => {
      report(progress);
      options.onProgress?.(progress);
    };
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          const outcome = await runner.run(sources, { signal, onProgress });
          await this.#completed(outcome, settings);
          return { kind: 'completed', outcome };
        } catch (error) {
          if (signal.aborted) return await this.#stopped(signal.reason);
          if (!isCumulusError(error, 'network') || attempt >= this.timing.retryAttempts) {
            return await this.#failed(error, settings);
          }
          const delay = Math.min(this.timing.retryBaseMs * 2 ** (attempt - 1), this.timing.retryMaxMs);
          const message = `connection dropped (${error.message}); retry ${attempt} of ${this.timing.retryAttempts - 1} in ${formatDuration(delay)}`;
          await this.#record({ kind: 'retrying', message, values: { attempt, delayMs: delay } });
          await this.#update((s) => {
            s.activity = { kind: 'retrying', since: clock.now(), message };
          });
          try {
            await clock.sleep(delay, signal);
          } catch {
            return await this.#stopped(signal.reason);
          }
        }
      }
    } finally {
      monitorDone.abort();
      await monitor;
    }
  }

  /** monitor re-checks the conditions while a backup runs and aborts it when they stop holding. */
  async #monitor(inputs: ConditionInputs, stop: AbortController, done: AbortSignal): Promise<void> {
    const { clock } = this.#deps;
    while (!done.aborted) {
      try {
        await clock.sleep(this.timing.recheckMs, done);
      } catch {
        return;
      }
      const [inspection, backupSwitch, reading] = await Promise.all([
        this.#deps.settings.inspect(),
        this.#deps.backupSwitch.read(),
        this.#read(),
      ]);
      if (done.aborted) return;
      const readiness = evaluateConditions({
        ...inputs,
        settings: inspection.settings,
        settingsProblems: inspection.problems,
        backupEnabled: backupSwitch.enabled,
        reading,
      });
      if (!readiness.ready) {
        stop.abort(new StopRequest(readiness.blockers));
        return;
      }
    }
  }

  #progressReporter(): (progress: BackupProgress) => void {
    let lastAt = Number.NEGATIVE_INFINITY;
    return (progress) => {
      const now = this.#deps.clock.now();
      if (now - lastAt < this.timing.progressEveryMs) return;
      lastAt = now;
      void this.#update((s) => {
        if (s.activity.kind === 'backing-up') s.activity.progress = progress;
      }).catch(() => {});
      void this.#deps.server.reportProgress(progress).catch(() => {});
    };
  }

  async #completed(outcome: BackupOutcome, settings: Settings): Promise<void> {
    const now = this.#deps.clock.now();
    const summary = `${outcome.filesNew + outcome.filesChanged} new or changed file(s), ${formatBytes(outcome.bytesAdded)} added in ${formatDuration(outcome.durationMs)}`;
    const kind: ReasonKind = outcome.status;
    const message =
      outcome.status === 'success'
        ? `backed up: ${summary}`
        : `partial: ${outcome.problems.length} file(s) could not be read (first: ${outcome.problems[0]?.path}: ${outcome.problems[0]?.message}); ${summary}`;
    const values: Values = {
      snapshotId: outcome.snapshotId,
      bytesAdded: outcome.bytesAdded,
      problems: outcome.problems.length,
    };
    await this.#update((s) => {
      s.lastCompletedAt = now;
      s.consecutiveFailures = 0;
      // Said now, not at the next evaluation a poll later: status shows when the next one is due.
      s.nextDueAt = this.#dueAt(s, settings);
      if (outcome.status === 'success') {
        s.lastSuccess = {
          at: now,
          snapshotId: outcome.snapshotId,
          filesNew: outcome.filesNew,
          bytesAdded: outcome.bytesAdded,
          durationMs: outcome.durationMs,
        };
      }
      s.activity = { kind: 'idle', since: now, message };
      recordReason(s, { kind, message, values }, now);
    });
    await this.#report(kind, outcome.status === 'success' ? [] : ['problems'], values);
  }

  async #stopped(reason: unknown): Promise<TickResult> {
    const blockers = reason instanceof StopRequest ? reason.blockers : [];
    const message =
      reason instanceof StopRequest
        ? `stopped: ${describeBlockers(blockers)}; it resumes when every condition holds again`
        : 'stopped: interrupted (the agent shut down or the backup was cancelled); the next backup resumes where it stopped';
    const values = valuesOf(blockers);
    await this.#update((s) => {
      s.activity = { kind: 'waiting', since: this.#deps.clock.now(), message };
      recordReason(
        s,
        { kind: 'stopped', message, conditions: conditionsOf(blockers), values },
        this.#deps.clock.now(),
      );
    });
    await this.#report(
      'stopped',
      reason instanceof StopRequest ? conditionsOf(blockers) : ['interrupted'],
      values,
    );
    return { kind: 'stopped', blockers };
  }

  async #failed(error: unknown, settings: Settings): Promise<TickResult> {
    const { message, values } = await this.#explainFailure(error, settings);
    const now = this.#deps.clock.now();
    const code = isCumulusError(error) ? error.code : 'internal';
    await this.#update((s) => {
      s.lastFailure = { at: now, message, code, values };
      s.consecutiveFailures++;
      s.activity = { kind: 'idle', since: now, message: `failed: ${message}` };
      recordReason(s, { kind: 'failed', message: `failed: ${message}`, conditions: [code], values }, now);
    });
    await this.#report('failed', [code], values);
    this.#deps.onTrouble?.();
    return { kind: 'failed', error };
  }

  /** explainFailure puts a failure in plain words; for a full storage, with what the backup needs against what is free. */
  async #explainFailure(error: unknown, settings: Settings): Promise<{ message: string; values: Values }> {
    if (!isCumulusError(error, 'quota_exceeded')) {
      return { message: (error as Error).message, values: isCumulusError(error) ? { code: error.code } : {} };
    }
    try {
      const [prediction, usage] = await Promise.all([
        this.#deps.runner.predict(settings.sources),
        this.#deps.server.usage(),
      ]);
      const free = Math.max(0, usage.plan.quotaBytes - usage.usedBytes);
      return {
        message: `storage full — needs ${formatBytes(prediction.bytesToUpload)}, ${formatBytes(free)} free`,
        values: { neededBytes: prediction.bytesToUpload, freeBytes: free, quotaBytes: usage.plan.quotaBytes },
      };
    } catch {
      return { message: `storage full (${error.message})`, values: { code: error.code } };
    }
  }

  async #record(reason: { kind: ReasonKind; message: string; values?: Values }): Promise<void> {
    await this.#update((s) => recordReason(s, reason, this.#deps.clock.now()));
  }

  #update(change: (state: AgentState) => void): Promise<AgentState> {
    return this.#deps.state.update(this.#deps.clock.now(), change);
  }

  /**
   * #report tells the server an outcome by its codes, numbers and the few tokens of a
   * fixed set (TOKEN_VALUES); the words, which may quote a path, stay here.
   */
  async #report(kind: OutcomeReport['kind'], codes: string[], values: Values): Promise<void> {
    const reported = Object.fromEntries(
      Object.entries(values).filter(([key, value]) => typeof value !== 'string' || TOKEN_VALUES.has(key)),
    );
    await this.#deps.server
      .reportOutcome({ at: this.#deps.clock.now(), kind, codes, values: reported })
      .catch(() => {});
  }
}

/** requestResult is what the state file keeps of a requested backup's end, for the command waiting on it. */
function requestResult(id: string, result: TickResult): RequestResult {
  switch (result.kind) {
    case 'completed':
      return { id, kind: 'completed', outcome: result.outcome };
    case 'failed': {
      const error = result.error;
      return {
        id,
        kind: 'failed',
        code: isCumulusError(error) ? error.code : 'internal',
        message: (error as Error).message,
        ...(isCumulusError(error) && error.hint !== undefined && { hint: error.hint }),
      };
    }
    default:
      return { id, kind: 'stopped', message: 'the agent stopped before the backup finished' };
  }
}

/** describeBlockers joins the blockers' messages: "on battery (34%); metered network (cellular)". */
export function describeBlockers(blockers: Blocker[]): string {
  return blockers.map((b) => b.message).join('; ');
}

function conditionsOf(blockers: Blocker[]): string[] {
  return blockers.map((b) => b.condition);
}

function valuesOf(blockers: Blocker[]): Values {
  return Object.assign({}, ...blockers.map((b) => b.values));
}
