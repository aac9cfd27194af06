/**
 * checkUpdate: this agent's version against the server's latest and minimum. The fix is
 * for the person to run: `cumulus update` names the commands, and nothing installs by
 * itself what a server names (src/agent/updater.ts).
 */
import { compareVersions } from '../../../api/releases.ts';
import type { DoctorFacts } from '../facts.ts';
import { failed } from '../facts.ts';
import type { Verdict } from '../types.ts';
import { serverErrorVerdict } from './server-error.ts';

export async function checkUpdate(facts: DoctorFacts): Promise<Verdict> {
  const release = await facts.release();
  if (failed(release)) return serverErrorVerdict(release.error);
  const { version } = facts.deps;
  const evidence = [
    `this agent: ${version}; latest: ${release.latest}; minimum the server accepts: ${release.minimum}`,
  ];
  if (compareVersions(version, release.latest) >= 0) return { status: 'ok', evidence };
  const belowMinimum = compareVersions(version, release.minimum) < 0;
  if (belowMinimum)
    evidence.push(`this agent is older than the minimum: the server refuses its backups until it is updated`);
  return {
    status: belowMinimum ? 'fail' : 'warn',
    evidence,
    fix: [`Update the agent to ${release.latest}: cumulus update says the commands to run`],
  };
}
