/** checkAgent: the scheduler is running and responsive, with no stuck backup or stale lock; the fix restarts it. */
import type { DoctorFacts } from '../facts.ts';
import type { Verdict } from '../types.ts';

export async function checkAgent(facts: DoctorFacts): Promise<Verdict> {
  const { daemon, backupSwitch } = facts.deps;
  const health = await daemon.health();
  if (health.responsive && !health.stuckBackup) return { status: 'ok', evidence: health.evidence };
  const enabled = (await backupSwitch.read()).enabled;
  return {
    status: enabled || health.staleLock || health.stuckBackup ? 'fail' : 'warn',
    evidence: [...health.evidence, ...(enabled ? ['no automatic backup can happen without the agent'] : [])],
    fix: [
      'Restart the agent: cumulus agent restart (drops stale locks and a stuck backup, then starts clean).',
      'To start it at every login: cumulus agent install',
    ],
    autoFix: { description: 'restart the agent', changesSettings: false, apply: () => daemon.restart() },
  };
}
