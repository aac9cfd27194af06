/**
 * checkSettings: the settings are valid, and none silently prevents backups: a source's
 * excludes covering all of it, or a condition that can never hold on
 * this machine. It also shows the conditions as they are now (lock and idle included).
 * The fix is `cumulus settings reset`.
 */
import { sessionBlocker } from '../../conditions.ts';
import { scanSource } from '../../source-scan.ts';
import type { DoctorFacts } from '../facts.ts';
import { failed } from '../facts.ts';
import type { CheckStatus, Verdict } from '../types.ts';
import { worst } from '../types.ts';

export async function checkSettings(facts: DoctorFacts): Promise<Verdict> {
  const [inspection, reading] = await Promise.all([facts.settings(), facts.reading()]);
  if (failed(inspection)) throw inspection.error;
  const { settings, problems } = inspection;
  const statuses: CheckStatus[] = ['ok'];
  const evidence: string[] = [];
  const never = (line: string) => {
    statuses.push('fail');
    evidence.push(line);
  };
  for (const problem of problems) never(`invalid: ${problem}`);
  for (const source of settings.sources) {
    if (source.excludes.length === 0) continue;
    const scan = await scanSource(source, { maxEntries: 10_000 });
    if (scan.topLevelEntries > 0 && scan.topLevelExcluded === scan.topLevelEntries) {
      never(`the excludes of ${source.path} (${source.excludes.join(', ')}) cover everything in it`);
    }
  }
  if (!failed(reading)) {
    const { network, session } = reading;
    if (
      settings.network.requireUnmetered &&
      settings.network.unknownMeteredCountsAs === 'metered' &&
      network.metered === 'unknown' &&
      network.type !== 'cellular'
    ) {
      never(
        'network.unknownMeteredCountsAs is metered, but this machine cannot tell whether a link is metered: backups never start',
      );
    }
    if (!session.graphical) evidence.push('no graphical session: the locked-or-idle condition holds');
    else if (
      settings.session.requireLockedOrIdle &&
      session.locked === undefined &&
      session.idleSeconds === undefined
    ) {
      never(
        'session.requireLockedOrIdle is on, but this machine cannot tell whether the screen is locked or the user idle: backups never start',
      );
    } else {
      const lock =
        session.locked === undefined
          ? 'lock state unknown'
          : session.locked
            ? 'screen locked'
            : 'screen unlocked';
      const idle =
        session.idleSeconds === undefined
          ? 'idle time unknown'
          : `idle ${Math.floor(session.idleSeconds / 60)} min`;
      const blocker = sessionBlocker(settings, session);
      evidence.push(`${lock}, ${idle}${blocker ? ' (backups wait until it is locked or idle)' : ''}`);
    }
  }
  const status = worst(statuses);
  if (status === 'ok') return { status, evidence: ['valid', ...evidence] };
  return {
    status,
    evidence,
    fix: [
      'Return every setting to its default: cumulus settings reset (keeps sign-in, keys, backups and the list of folders).',
    ],
    autoFix: {
      description:
        'reset every setting to its default (keeps sign-in, keys, backups and the list of folders)',
      changesSettings: true,
      apply: async () => {
        await facts.deps.settings.reset();
        return ['settings reset to their defaults'];
      },
    },
  };
}
