/**
 * noticeStaleBackup raises a desktop notification when this device's backup has waited or
 * failed for more than `notify.afterDays` days (3 by default, the server's silence
 * default), naming the doctor's top finding and its first fix; again at most once per
 * that many days while it lasts; and a short note when a backup succeeds again. Backup
 * switched off is the owner's choice, not a stalled backup: no notice. The daemon calls it
 * after each evaluation; the doctor runs only when a notice is due.
 */
import type { BackupSwitch } from './backup-switch.ts';
import type { CheckResult } from './doctor/types.ts';
import { formatDuration, formatWhen } from './format.ts';
import type { Clock, DesktopNotifier } from './ports.ts';
import type { SettingsStore } from './settings.ts';
import type { StateStore } from './state.ts';

const DAY_MS = 86_400_000;

export interface StaleNoticeDeps {
  clock: Clock;
  state: StateStore;
  settings: Pick<SettingsStore, 'inspect'>;
  backupSwitch: Pick<BackupSwitch, 'read'>;
  notifier: DesktopNotifier;
  /** diagnose runs the doctor and returns its top finding (none when every check passes). */
  diagnose(): Promise<CheckResult | undefined>;
}

export type StaleNoticeOutcome = 'notified' | 'recovered' | 'none';

export async function noticeStaleBackup(deps: StaleNoticeDeps): Promise<StaleNoticeOutcome> {
  const now = deps.clock.now();
  const [state, { settings }, backupSwitch] = await Promise.all([
    deps.state.read(now),
    deps.settings.inspect(),
    deps.backupSwitch.read(),
  ]);
  const notice = state.staleNotice ?? null;
  const lastSuccess = state.lastSuccess?.at;
  if (notice && lastSuccess !== undefined && lastSuccess > notice.at) {
    await deps.state.update(now, (s) => {
      s.staleNotice = null;
    });
    await deps.notifier.notify(
      'Cumulus: backing up again',
      `This device backed up again at ${formatWhen(lastSuccess)}.`,
    );
    return 'recovered';
  }
  const afterDays = settings.notify.afterDays;
  const since = lastSuccess ?? backupSwitch.changedAt;
  if (afterDays === null || !backupSwitch.enabled || since === null) return 'none';
  const window = afterDays * DAY_MS;
  if (now - since <= window || (notice && now - notice.at < window)) return 'none';
  const finding = await deps.diagnose().catch(() => undefined);
  const stopped = `${lastSuccess === undefined ? 'No backup has completed in' : 'No backup for'} ${formatDuration(now - since)}.`;
  const body = finding
    ? `${stopped} ${finding.title}: ${finding.evidence[0] ?? finding.status}.${finding.fix?.[0] ? ` Fix: ${finding.fix[0]}` : ''}`
    : `${stopped} Run cumulus doctor to see why.`;
  await deps.notifier.notify('Cumulus: backups have stopped', body);
  await deps.state.update(now, (s) => {
    s.staleNotice = { at: now, check: finding?.id ?? 'none' };
  });
  return 'notified';
}
