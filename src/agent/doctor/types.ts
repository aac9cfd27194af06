/**
 * The doctor's vocabulary. A check measures one thing on the real device and returns its
 * verdict: a status, the evidence it measured, the numbered steps to fix it, and, when a
 * fix is safe to apply by itself, an `autoFix` (the doctor asks before one that changes
 * settings). A check that cannot run because another check's fault stands in its way says
 * `skip` and names that check in `blockedBy`, so a report flags the cause, not its echoes.
 */
import type { AgentContext } from '../context.ts';
import type { DaemonHealth } from '../daemon.ts';

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

/** CHECK_IDS is the one list of the doctor's checks, in the order they run and print. */
export const CHECK_IDS = [
  'backup-switch',
  'network',
  'power',
  'storage',
  'service-status',
  'sign-in',
  'agent',
  'settings',
  'update',
  'last-backup',
  'sources',
  'local-disk',
] as const;

export type CheckId = (typeof CHECK_IDS)[number];

export interface AutoFix {
  description: string;
  changesSettings: boolean;
  /** apply makes the fix and returns what it did. */
  apply(): Promise<string[]>;
}

/** Verdict is what a check returns; the doctor adds the check's id and title. */
export interface Verdict {
  status: CheckStatus;
  evidence: string[];
  fix?: string[];
  autoFix?: AutoFix;
  /** With `skip`: the check whose fault keeps this one from running (it is flagged itself). */
  blockedBy?: CheckId;
}

export interface CheckResult extends Verdict {
  id: CheckId;
  title: string;
}

/** DoctorDeps is the agent's context plus what only the doctor needs: the daemon and disk space. */
export interface DoctorDeps extends AgentContext {
  daemon: { health(): Promise<DaemonHealth>; restart(): Promise<string[]> };
  diskSpace(path: string): Promise<{ freeBytes: number; totalBytes: number }>;
  /** Longest the pending backup may take at the measured upload rate before the network check warns. */
  uploadWindowMs?: number;
  /** How long an upload measurement on the same link is reused instead of measured again. */
  uploadCoolDownMs?: number;
}

/** worst returns the most serious of some statuses (fail > warn > ok > skip). */
export function worst(statuses: CheckStatus[]): CheckStatus {
  for (const status of ['fail', 'warn', 'ok'] as const) if (statuses.includes(status)) return status;
  return 'skip';
}
