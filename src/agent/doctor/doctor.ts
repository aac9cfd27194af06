/**
 * runDoctor runs every check on the device, in the seed's order then the extra ones, and
 * returns the results as data. With `fix`, it applies each failing or warning check's
 * safe fix, asking first (through `ask`) before one that changes settings unless `yes`,
 * then runs every check again so the report shows the device as it is after the fixes.
 */
import { statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { AgentContext } from '../context.ts';
import { daemonHealth, restartAgent } from '../daemon.ts';
import { checkAgent } from './checks/agent.ts';
import { checkBackupSwitch } from './checks/backup-switch.ts';
import { checkLastBackup } from './checks/last-backup.ts';
import { checkLocalDisk } from './checks/local-disk.ts';
import { checkNetwork } from './checks/network.ts';
import { checkPower } from './checks/power.ts';
import { checkServiceStatus } from './checks/service-status.ts';
import { checkSettings } from './checks/settings.ts';
import { checkSignIn } from './checks/sign-in.ts';
import { checkSources } from './checks/sources.ts';
import { checkStorage } from './checks/storage.ts';
import { checkUpdate } from './checks/update.ts';
import { DoctorFacts } from './facts.ts';
import type { CheckId, CheckResult, DoctorDeps } from './types.ts';

const CHECKS: [CheckId, string, (facts: DoctorFacts) => Promise<CheckResult>][] = [
  ['backup-switch', 'Backup is switched on', checkBackupSwitch],
  ['network', 'Network', checkNetwork],
  ['power', 'Power', checkPower],
  ['storage', 'Storage', checkStorage],
  ['service-status', 'Service status', checkServiceStatus],
  ['sign-in', 'Sign-in', checkSignIn],
  ['agent', 'Agent', checkAgent],
  ['settings', 'Settings', checkSettings],
  ['update', 'Update', checkUpdate],
  ['last-backup', 'Last backup', checkLastBackup],
  ['sources', 'Sources', checkSources],
  ['local-disk', 'Local disk', checkLocalDisk],
];

export interface AppliedFix {
  check: CheckId;
  description: string;
  outcome: 'applied' | 'declined' | 'failed';
  details: string[];
}

export interface DoctorReport {
  /** False when any check failed: the command exits non-zero. */
  ok: boolean;
  checks: CheckResult[];
  fixes: AppliedFix[];
}

/** runChecks runs every check once; a check that throws is reported as failed, never aborting the others. */
export async function runChecks(deps: DoctorDeps): Promise<CheckResult[]> {
  const facts = new DoctorFacts(deps);
  const results: CheckResult[] = [];
  for (const [id, title, check] of CHECKS) {
    try {
      results.push(await check(facts));
    } catch (error) {
      results.push({
        id,
        title,
        status: 'fail',
        evidence: [`the check itself failed: ${(error as Error).message}`],
      });
    }
  }
  return results;
}

export async function runDoctor(
  deps: DoctorDeps,
  options: { fix?: boolean; yes?: boolean; ask?: (question: string) => Promise<boolean> } = {},
): Promise<DoctorReport> {
  let checks = await runChecks(deps);
  const fixes: AppliedFix[] = [];
  if (options.fix) {
    for (const check of checks) {
      const autoFix = check.autoFix;
      if (!autoFix || (check.status !== 'fail' && check.status !== 'warn')) continue;
      const base = { check: check.id, description: autoFix.description };
      if (
        autoFix.changesSettings &&
        !options.yes &&
        !(await (options.ask?.(`${check.title}: ${autoFix.description}?`) ?? false))
      ) {
        fixes.push({ ...base, outcome: 'declined', details: [] });
        continue;
      }
      try {
        fixes.push({ ...base, outcome: 'applied', details: await autoFix.apply() });
      } catch (error) {
        fixes.push({ ...base, outcome: 'failed', details: [(error as Error).message] });
      }
    }
    if (fixes.some((f) => f.outcome === 'applied')) checks = await runChecks(deps);
  }
  return { ok: checks.every((c) => c.status !== 'fail'), checks, fixes };
}

/** doctorDeps adds the real daemon control and disk measurement to an agent context. */
export function doctorDeps(ctx: AgentContext): DoctorDeps {
  return {
    ...ctx,
    daemon: { health: () => daemonHealth(ctx), restart: () => restartAgent(ctx) },
    diskSpace,
  };
}

/** diskSpace measures the disk holding `path`, or its nearest existing parent. */
export async function diskSpace(path: string): Promise<{ freeBytes: number; totalBytes: number }> {
  for (let dir = path; ; dir = dirname(dir)) {
    try {
      const s = await statfs(dir);
      return { freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(dir) === dir) throw error;
    }
  }
}
