/**
 * The doctor's vocabulary. A check measures one thing on the real device and returns its
 * status, the evidence it measured, the numbered steps to fix it, and, when a fix is safe
 * to apply by itself, an `autoFix` (the doctor asks before one that changes settings).
 */
import type { AgentContext } from '../context.ts';
import type { DaemonHealth } from '../daemon.ts';

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

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

export interface CheckResult {
  id: CheckId;
  title: string;
  status: CheckStatus;
  evidence: string[];
  fix?: string[];
  autoFix?: AutoFix;
}

/** DoctorDeps is the agent's context plus what only the doctor needs: the daemon and disk space. */
export interface DoctorDeps extends AgentContext {
  daemon: { health(): Promise<DaemonHealth>; restart(): Promise<string[]> };
  diskSpace(path: string): Promise<{ freeBytes: number; totalBytes: number }>;
  /** Longest the pending backup may take at the measured upload rate before the network check warns. */
  uploadWindowMs?: number;
}

/** worst returns the most serious of some statuses (fail > warn > ok > skip). */
export function worst(statuses: CheckStatus[]): CheckStatus {
  for (const status of ['fail', 'warn', 'ok'] as const) if (statuses.includes(status)) return status;
  return 'skip';
}
