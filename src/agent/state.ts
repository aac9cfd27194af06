/**
 * AgentState is what the agent knows about its own work, kept in `state.json` in the
 * config folder: the daemon writes it, `cumulus status` and the doctor read it. Its
 * journal holds a reason for every evaluation that did not start a backup and for every
 * failure, deduplicated: consecutive evaluations blocked by the same conditions are one
 * entry ("waiting: on battery (34%) since 01:10") whose values and count are updated.
 */
import type { RequestResult } from './backup-request.ts';
import type { Values } from './conditions.ts';
import { readJsonFile, writeJsonFile } from './json-file.ts';
import type { BackupProgress } from './ports.ts';

export type ReasonKind =
  | 'scheduled'
  | 'waiting'
  | 'started'
  | 'stopped'
  | 'retrying'
  | 'failed'
  | 'partial'
  | 'success'
  | 'woke';

export interface ReasonEntry {
  kind: ReasonKind;
  message: string;
  /** The conditions behind a wait or a stop; entries dedupe on kind + conditions. */
  conditions: string[];
  values: Values;
  since: number;
  lastAt: number;
  count: number;
}

export interface Activity {
  kind: 'idle' | 'waiting' | 'backing-up' | 'retrying';
  since: number;
  message: string;
  progress?: BackupProgress;
}

export interface AgentState {
  version: 1;
  /** The running daemon; heartbeatAt shows it is responsive. */
  agent: { pid: number; version: string; startedAt: number; heartbeatAt: number } | null;
  activity: Activity;
  nextDueAt: number | null;
  lastSuccess: {
    at: number;
    snapshotId: string;
    filesNew: number;
    bytesAdded: number;
    durationMs: number;
  } | null;
  /** The end of the last backup that stored a snapshot (success or partial): the schedule counts from it. */
  lastCompletedAt: number | null;
  lastFailure: { at: number; message: string; code: string; values: Values } | null;
  consecutiveFailures: number;
  reasons: ReasonEntry[];
  /** The id of the "back up now" request the agent is running (src/agent/backup-request.ts). */
  runningRequest?: string | null;
  /** How the last request ended; `cumulus backup` waits for its id here. */
  lastRequest?: RequestResult | null;
  /**
   * The backup switch as last agreed with the server (src/agent/console-sync.ts): a switch
   * file that differs was changed on the device since, and goes up at the next sync.
   */
  switchSynced?: { enabled: boolean; changedAt: number | null } | null;
  /** The last desktop notification that backups stopped (src/agent/stale-backup-notice.ts), until they resume. */
  staleNotice?: { at: number; check: string } | null;
}

export const MAX_REASONS = 200;

export function emptyState(now: number): AgentState {
  return {
    version: 1,
    agent: null,
    activity: { kind: 'idle', since: now, message: 'not started' },
    nextDueAt: null,
    lastSuccess: null,
    lastCompletedAt: null,
    lastFailure: null,
    consecutiveFailures: 0,
    reasons: [],
    runningRequest: null,
    lastRequest: null,
  };
}

/** recordReason appends an entry to the journal, or updates the last one when it is the same reason. */
export function recordReason(
  state: AgentState,
  reason: { kind: ReasonKind; message: string; conditions?: string[]; values?: Values },
  at: number,
): void {
  const conditions = reason.conditions ?? [];
  const last = state.reasons.at(-1);
  if (
    last &&
    last.kind === reason.kind &&
    last.conditions.join() === conditions.join() &&
    reason.kind !== 'failed'
  ) {
    last.message = reason.message;
    last.values = reason.values ?? {};
    last.lastAt = at;
    last.count++;
    return;
  }
  state.reasons.push({
    kind: reason.kind,
    message: reason.message,
    conditions,
    values: reason.values ?? {},
    since: at,
    lastAt: at,
    count: 1,
  });
  if (state.reasons.length > MAX_REASONS) state.reasons.splice(0, state.reasons.length - MAX_REASONS);
}

/** StateStore reads and updates `state.json`; updates within one process never interleave. */
export class StateStore {
  readonly path: string;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(path: string) {
    this.path = path;
  }

  /** read returns the state, or an empty one when there is none or it is unreadable. */
  async read(now: number): Promise<AgentState> {
    try {
      const raw = (await readJsonFile(this.path)) as AgentState | undefined;
      if (raw?.version === 1 && Array.isArray(raw.reasons)) return raw;
    } catch {
      // A torn or hand-edited state file only loses history; the agent rebuilds it.
    }
    return emptyState(now);
  }

  /** update applies `change` to the current state and writes it atomically. */
  update(now: number, change: (state: AgentState) => void): Promise<AgentState> {
    const next = this.#queue.then(async () => {
      const state = await this.read(now);
      change(state);
      await writeJsonFile(this.path, state);
      return state;
    });
    this.#queue = next.catch(() => {});
    return next;
  }
}
