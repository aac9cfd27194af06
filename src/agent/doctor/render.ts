/** renderDoctor prints a doctor report for a person: OK/WARN/FAIL/SKIP (and what blocks a skip), the evidence, the numbered steps to fix. */
import type { DoctorReport } from './doctor.ts';

const LABEL = { ok: 'OK  ', warn: 'WARN', fail: 'FAIL', skip: 'SKIP' } as const;

export function renderDoctor(report: DoctorReport): string {
  const lines: string[] = [];
  for (const fix of report.fixes) {
    const verb = { applied: 'fixed', declined: 'not fixed (declined)', failed: 'fix failed' }[fix.outcome];
    lines.push(`${verb}: ${fix.description}${fix.details.length ? ` — ${fix.details.join('; ')}` : ''}`);
  }
  if (report.fixes.length > 0) lines.push('');
  for (const check of report.checks) {
    const blocker = check.blockedBy ? ` — blocked by ${check.blockedBy}` : '';
    lines.push(`${LABEL[check.status]}  ${check.title} [${check.id}]${blocker}`);
    for (const line of check.evidence) lines.push(`      ${line}`);
    if (check.fix && check.status !== 'ok' && check.status !== 'skip') {
      lines.push('      To fix:');
      for (const [i, step] of check.fix.entries()) lines.push(`        ${i + 1}. ${step}`);
      if (check.autoFix) lines.push(`        (cumulus doctor --fix can ${check.autoFix.description})`);
    }
  }
  const counts = (['fail', 'warn', 'ok', 'skip'] as const)
    .map((s) => `${report.checks.filter((c) => c.status === s).length} ${s}`)
    .join(', ');
  lines.push('', `${report.ok ? 'No check failed' : 'Some checks failed'} (${counts}).`);
  return `${lines.join('\n')}\n`;
}

/** doctorJson is the report as data for `--json`: the fixes are described, not callable. */
export function doctorJson(report: DoctorReport): unknown {
  return {
    ok: report.ok,
    checks: report.checks.map(({ autoFix, ...check }) => ({
      ...check,
      ...(autoFix && {
        autoFix: { description: autoFix.description, changesSettings: autoFix.changesSettings },
      }),
    })),
    fixes: report.fixes,
  };
}
