/**
 * The rules of a device's lifecycle, as pure functions of the clock and what the server
 * recorded: when a silent device is noticed and reminded, when it counts as recovered, and
 * when its abandoned backups are announced and deleted.
 *
 * Expiry is never without notice: the first notice goes out 30 days before the deletion
 * and the last one 7 days before, and a deletion date only comes closer once a notice
 * announcing it was delivered. A notice no channel took is sent again at the next check,
 * and the deletion waits: it happens no sooner than 30 days after the first delivered
 * notice and 7 days after the last one.
 */
import type { LifecycleSettings } from '../../api/notifications.ts';

export const DAY_MS = 86_400_000;
/** RECENT_BACKUPS is how many successful backup times the cadence is measured over. */
const RECENT_BACKUPS = 8;
const FIRST_NOTICE_MS = 30 * DAY_MS;
const LAST_NOTICE_MS = 7 * DAY_MS;

/** withBackup adds a device's last successful backup time to its recent ones (kept in order, bounded). */
export function withBackup(backups: readonly number[], lastBackupAt: number): number[] {
  if (backups.at(-1) === lastBackupAt) return [...backups];
  return [...backups, lastBackupAt].slice(-RECENT_BACKUPS);
}

/** cadenceMs is the device's usual time between successful backups (the median), or null before two are known. */
export function cadenceMs(backups: readonly number[]): number | null {
  const gaps = backups
    .slice(1)
    .map((at, i) => at - backups[i])
    .sort((a, b) => a - b);
  if (gaps.length === 0) return null;
  const middle = Math.floor(gaps.length / 2);
  return gaps.length % 2 === 1 ? gaps[middle] : (gaps[middle - 1] + gaps[middle]) / 2;
}

/**
 * silenceThresholdMs is how long a device may go without a backup before the account is
 * told: the account's days, or twice the device's usual cadence when that is longer (a
 * device that backs up weekly is not late after 3 days).
 */
export function silenceThresholdMs(settings: LifecycleSettings, backups: readonly number[]): number {
  return Math.max(settings.silenceDays * DAY_MS, 2 * (cadenceMs(backups) ?? 0));
}

export interface SilenceState {
  /** The last backup time the silence notice was about; null while not noticed. */
  silentSince: number | null;
  /** When the last silence notice or reminder was delivered. */
  noticedAt: number | null;
}

export type SilenceStep = { kind: 'none' } | { kind: 'notice'; reminder: boolean } | { kind: 'recovery' };

export function silenceStep(
  now: number,
  settings: LifecycleSettings,
  lastBackupAt: number,
  backups: readonly number[],
  state: SilenceState,
): SilenceStep {
  if (state.silentSince !== null && lastBackupAt > state.silentSince) return { kind: 'recovery' };
  if (now - lastBackupAt < silenceThresholdMs(settings, backups)) return { kind: 'none' };
  if (state.silentSince !== lastBackupAt) return { kind: 'notice', reminder: false };
  const reminderMs = settings.reminderDays * DAY_MS;
  if (reminderMs > 0 && state.noticedAt !== null && now - state.noticedAt >= reminderMs)
    return { kind: 'notice', reminder: true };
  return { kind: 'none' };
}

export interface ExpiryState {
  /** When the notice 30 days before was delivered; null until it was. */
  firstNoticeAt: number | null;
  /** When the notice 7 days before was delivered; null until it was. */
  lastNoticeAt: number | null;
}

/**
 * plannedDeletion is when the device's backups will be deleted if it does not back up
 * again: the expiry date, pushed back so that it comes 30 days after the first delivered
 * notice and 7 days after the last.
 */
export function plannedDeletion(
  now: number,
  expiryDays: number,
  lastBackupAt: number,
  state: ExpiryState,
): number {
  const expiresAt = lastBackupAt + expiryDays * DAY_MS;
  if (state.firstNoticeAt === null) return Math.max(expiresAt, now + FIRST_NOTICE_MS);
  const afterFirst = Math.max(expiresAt, state.firstNoticeAt + FIRST_NOTICE_MS);
  if (state.lastNoticeAt === null) return Math.max(afterFirst, now + LAST_NOTICE_MS);
  return Math.max(afterFirst, state.lastNoticeAt + LAST_NOTICE_MS);
}

export type ExpiryStep =
  | { kind: 'none' }
  | { kind: 'notice'; which: 'first' | 'last'; deletesAt: number }
  | { kind: 'delete' };

/** expiryStep is what is due now for a device whose expiry is on (expiryDays > 0) and that is not pinned. */
export function expiryStep(
  now: number,
  expiryDays: number,
  lastBackupAt: number,
  state: ExpiryState,
): ExpiryStep {
  const deletesAt = plannedDeletion(now, expiryDays, lastBackupAt, state);
  if (state.firstNoticeAt === null)
    return deletesAt - now <= FIRST_NOTICE_MS
      ? { kind: 'notice', which: 'first', deletesAt }
      : { kind: 'none' };
  if (state.lastNoticeAt === null)
    return deletesAt - now <= LAST_NOTICE_MS
      ? { kind: 'notice', which: 'last', deletesAt }
      : { kind: 'none' };
  return now >= deletesAt ? { kind: 'delete' } : { kind: 'none' };
}
