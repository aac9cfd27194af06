/** checkLastBackup: how long since the last successful backup, and the last failure explained. */
import { formatDuration, formatWhen } from '../../format.ts';
import type { DoctorFacts } from '../facts.ts';
import { failed } from '../facts.ts';
import type { Verdict } from '../types.ts';

export async function checkLastBackup(facts: DoctorFacts): Promise<Verdict> {
  const [state, inspection] = await Promise.all([facts.state(), facts.settings()]);
  if (failed(state)) throw state.error;
  if (failed(inspection)) throw inspection.error;
  const now = facts.deps.clock.now();
  const interval = inspection.settings.schedule.intervalHours * 3_600_000;
  const evidence: string[] = [];
  const success = state.lastSuccess;
  const age = success ? now - success.at : Number.POSITIVE_INFINITY;
  evidence.push(
    success
      ? `last successful backup ${formatDuration(age)} ago (${formatWhen(success.at)})`
      : 'no backup has completed yet',
  );
  if (state.lastFailure && (!success || state.lastFailure.at > success.at)) {
    evidence.push(`last failure ${formatWhen(state.lastFailure.at)}: ${state.lastFailure.message}`);
  }
  if (state.activity.kind !== 'idle') evidence.push(`now: ${state.activity.message}`);
  if (age <= interval + 3_600_000) return { status: 'ok', evidence };
  return {
    // Never backed up is a warning: the checks above say what stops the first backup.
    status: success && age > 3 * interval ? 'fail' : 'warn',
    evidence,
    fix: [
      'Fix what the checks above report; the backup then runs by itself.',
      'To back up right now: cumulus backup',
    ],
  };
}
