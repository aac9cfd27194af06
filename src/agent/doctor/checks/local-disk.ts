/** checkLocalDisk: free space on the disk where the agent keeps its state, journal and log. */
import { formatBytes } from '../../../core/units.ts';
import type { DoctorFacts } from '../facts.ts';
import type { Verdict } from '../types.ts';

const FAIL_BELOW = 100_000_000;
const WARN_BELOW = 1_000_000_000;

export async function checkLocalDisk(facts: DoctorFacts): Promise<Verdict> {
  const dir = facts.deps.paths.stateDir;
  const { freeBytes, totalBytes } = await facts.deps.diskSpace(dir);
  const evidence = [`${formatBytes(freeBytes)} free of ${formatBytes(totalBytes)} on the disk of ${dir}`];
  if (freeBytes >= WARN_BELOW) return { status: 'ok', evidence };
  return {
    status: freeBytes < FAIL_BELOW ? 'fail' : 'warn',
    evidence: [...evidence, "the agent's state, journal and log need room to work"],
    fix: ['Free some space on this disk (empty the trash, remove large downloads).'],
  };
}
