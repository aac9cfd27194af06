/**
 * runDoctor runs every check on the device, in the seed's order then the extra ones, and
 * returns the results as data: each flags its own fault, or skips naming the check whose
 * fault keeps it from running. With `fix`, it applies each failing or warning check's
 * safe fix, asking first (through `ask`) before one that changes settings unless `yes`,
 * then runs every check again so the report shows the device as it is after the fixes.
 */
import { statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { AgentContext } from '../context.ts';
import { daemonHealth, restartAgent } from '../daemon.ts';
import { settleBlockers } from './blocked.ts';
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
import { CHECK_IDS, type CheckId, type CheckResult, type DoctorDeps, type Verdict } from './types.ts';

/** CHECKS gives each of CHECK_IDS its title and its measurement (the compiler holds the two lists equal). */
const CHECKS: Record<CheckId, { title: string; run: (facts: DoctorFacts) => Promise<Verdict> }> = {
  'backup-switch': { title: 'Backup is switched on', run: checkBackupSwitch },
  network: { title: 'Network', run: checkNetwork },
  power: { title: 'Power', run: checkPower },
  storage: { title: 'Storage', run: checkStorage },
  'service-status': { title: 'Service status', run: checkServiceStatus },
  'sign-in': { title: 'Sign-in', run: checkSignIn },
  agent: { title: 'Agent', run: checkAgent },
  settings: { title: 'Settings', run: checkSettings },
  update: { title: 'Update', run: checkUpdate },
  'last-backup': { title: 'Last backup', run: checkLastBackup },
  sources: { title: 'Sources', run: checkSources },
  'local-disk': { title: 'Local disk', run: checkLocalDisk },
};

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

/**
 * runChecks runs every check once; a check that throws is reported as failed, never
 * aborting the others. A skip stands only behind a check that was flagged (settleBlockers).
 */
export async function runChecks(deps: DoctorDeps): Promise<CheckResult[]> {
  const facts = new DoctorFacts(deps);
  const results: CheckResult[] = [];
  for (const id of CHECK_IDS) {
    const { title, run } = CHECKS[id];
    try {
      results.push({ id, title, ...(await run(facts)) });
    } catch (error) {
      results.push({
        id,
        title,
        status: 'fail',
        evidence: [`the check itself failed: ${(error as Error).message}`],
      });
    }
  }
  settleBlockers(results);
  return results;
}

/**
 * topFinding is the check a person should look at first: the first failure in the
 * doctor's order, else the first warning. `last-backup` says that backups stopped, not
 * why, so it is the top finding only when nothing else is flagged.
 */
export function topFinding(checks: CheckResult[]): CheckResult | undefined {
  const ranked = [
    ...checks.filter((c) => c.id !== 'last-backup'),
    ...checks.filter((c) => c.id === 'last-backup'),
  ];
  return ranked.find((c) => c.status === 'fail') ?? ranked.find((c) => c.status === 'warn');
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
