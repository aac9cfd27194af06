/** checkSources: every source exists and is readable; lists the files that are not. */
import { scanSource } from '../../source-scan.ts';
import type { DoctorFacts } from '../facts.ts';
import { failed } from '../facts.ts';
import type { CheckStatus, Verdict } from '../types.ts';
import { worst } from '../types.ts';

export async function checkSources(facts: DoctorFacts): Promise<Verdict> {
  const inspection = await facts.settings();
  if (failed(inspection)) throw inspection.error;
  const { sources } = inspection.settings;
  if (sources.length === 0) {
    return {
      status: 'fail',
      evidence: ['no folders are chosen to back up'],
      fix: ['Add one: cumulus sources add ~/Documents'],
    };
  }
  const statuses: CheckStatus[] = ['ok'];
  const evidence: string[] = [];
  const fix: string[] = [];
  for (const source of sources) {
    const scan = await scanSource(source);
    if (!scan.exists) {
      statuses.push('fail');
      evidence.push(`${source.path} does not exist or is not a folder`);
      fix.push(`Restore the folder, or stop backing it up: cumulus sources remove ${source.path}`);
      continue;
    }
    evidence.push(
      `${source.path}: ${scan.files} file(s)${scan.truncated ? ' (scan stopped early: very large)' : ''}`,
    );
    if (scan.unreadableCount > 0) {
      statuses.push('warn');
      evidence.push(
        `${scan.unreadableCount} unreadable in ${source.path}: ${scan.unreadable.join(', ')}${scan.unreadableCount > scan.unreadable.length ? ', …' : ''}`,
      );
      fix.push(
        `Give your user read access to them (chmod u+r), or exclude them: cumulus sources add ${source.path} --exclude PATTERN`,
      );
    }
  }
  return { status: worst(statuses), evidence, ...(fix.length > 0 && { fix }) };
}
