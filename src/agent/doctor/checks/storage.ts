/**
 * checkStorage: usage against the plan, and the next backup's predicted size (a dry scan)
 * against the free space. When it will not fit, it names what would make it fit: sources
 * to exclude (with the bytes each saves), backed-up data to delete (with the bytes each
 * frees), and the smallest plan that holds it all.
 */
import { describeForecast } from '../../../core/space-forecast.ts';
import { formatBytes } from '../../../core/units.ts';
import type { Plan, Prediction, Usage } from '../../ports.ts';
import { blocked, blockerOf } from '../blocked.ts';
import type { DoctorFacts } from '../facts.ts';
import { failed } from '../facts.ts';
import type { Verdict } from '../types.ts';
import { serverErrorVerdict } from './server-error.ts';

const NEARLY_FULL = 0.9;

/**
 * checkStorage adds the server's space forecast to the evidence (last): it warns on its
 * own when the plan fills within two weeks at this rate, and never blocks or fails.
 */
export async function checkStorage(facts: DoctorFacts): Promise<Verdict> {
  const verdict = await checkStorageNow(facts);
  if (verdict.status === 'skip') return verdict;
  const forecast = await facts.deps.server.forecast().catch(() => undefined);
  if (forecast === undefined) return verdict;
  const evidence = [...verdict.evidence, `forecast: ${describeForecast(forecast)}`];
  if (verdict.status === 'ok' && forecast.warning) {
    return {
      status: 'warn',
      evidence,
      fix: ['Make room before the plan fills up at this rate: see cumulus storage, or cumulus plan'],
    };
  }
  return { ...verdict, evidence };
}

async function checkStorageNow(facts: DoctorFacts): Promise<Verdict> {
  const usage = await facts.usage();
  if (failed(usage)) return serverErrorVerdict(usage.error);
  const quota = usage.plan.quotaBytes;
  const free = Math.max(0, quota - usage.usedBytes);
  const evidence = [
    `using ${formatBytes(usage.usedBytes)} of ${formatBytes(quota)} (${usage.plan.name} plan), ${formatBytes(free)} free`,
  ];
  const prediction = await facts.prediction();
  if (failed(prediction)) {
    const what = 'could not predict the next backup';
    if (usage.usedBytes >= quota) {
      evidence.push(`${what}: ${prediction.error.message}`, 'storage is full: no backup can add to it');
      return { status: 'fail', evidence, fix: ['Make room: see cumulus storage, or cumulus plan'] };
    }
    const blocker = blockerOf(prediction.error);
    if (blocker) return blocked(blocker, what, prediction.error, evidence);
    evidence.push(`${what}: ${prediction.error.message}`);
    return { status: 'warn', evidence };
  }
  const needed = prediction.bytesToUpload;
  evidence.push(
    `the next backup will add about ${formatBytes(needed)} (${prediction.files} file(s), dry scan)`,
  );
  if (needed <= free && usage.usedBytes < quota) {
    const after = (usage.usedBytes + needed) / quota;
    if (after > NEARLY_FULL) {
      evidence.push(`after it, storage will be ${Math.round(after * 100)}% full`);
      return {
        status: 'warn',
        evidence,
        fix: ['Make room before it fills up: see cumulus storage, or cumulus plan'],
      };
    }
    return { status: 'ok', evidence };
  }
  evidence.push(`the next backup will not fit: needs ${formatBytes(needed)}, ${formatBytes(free)} free`);
  const plans = await facts.deps.server.plans().catch(() => [] as Plan[]);
  return {
    status: 'fail',
    evidence,
    fix: waysToFit(needed - free, usage.usedBytes + needed, usage, prediction, plans),
  };
}

/** waysToFit lists the ways to find `missing` bytes, largest first within each kind, and a plan holding `total`. */
function waysToFit(
  missing: number,
  total: number,
  usage: Usage,
  prediction: Prediction,
  plans: Plan[],
): string[] {
  const steps: string[] = [];
  let saved = 0;
  for (const source of [...prediction.sources].sort((a, b) => b.bytesToUpload - a.bytesToUpload)) {
    if (saved >= missing || source.bytesToUpload === 0) break;
    saved += source.bytesToUpload;
    steps.push(
      `Stop backing up ${source.path} (saves ${formatBytes(source.bytesToUpload)}): cumulus sources remove ${source.path}`,
    );
  }
  let freed = 0;
  for (const source of [...usage.sources].sort((a, b) => b.exclusiveBytes - a.exclusiveBytes)) {
    if (freed >= missing || source.exclusiveBytes === 0) break;
    freed += source.exclusiveBytes;
    steps.push(
      `Delete the backed-up data of ${source.path} on ${source.device} (frees ${formatBytes(source.exclusiveBytes)}): cumulus storage`,
    );
  }
  const plan = plans
    .filter((p) => p.quotaBytes >= total && p.id !== usage.plan.id)
    .sort((a, b) => a.quotaBytes - b.quotaBytes)[0];
  if (plan)
    steps.push(
      `Or change to the ${plan.name} plan (${formatBytes(plan.quotaBytes)}): cumulus plan change ${plan.id}`,
    );
  return steps;
}
