/** `cumulus plan` shows the account's plan and usage, lists the plans offered, and switches plan. */
import type { Command } from 'commander';
import * as plans from '../../api/plans.ts';
import { formatBytes } from '../../core/units.ts';
import { printable } from '../format.ts';
import { printJson } from '../repository-options.ts';
import { signedIn } from '../signed-in.ts';

function printStatus(status: plans.PlanStatus): void {
  const percent = status.quotaBytes === 0 ? 100 : Math.round((status.usedBytes / status.quotaBytes) * 100);
  process.stdout.write(
    `plan ${printable(status.plan.name)} (${status.plan.id}): ${formatBytes(status.usedBytes)} of ${formatBytes(status.quotaBytes)} used (${percent}%)\n`,
  );
  if (status.warningLevel > 0) {
    process.stdout.write(
      `warning: storage is ${status.warningLevel >= 100 ? 'full' : `over ${status.warningLevel}%`}; free space with \`cumulus storage\` or choose a larger plan\n`,
    );
  }
}

export function register(program: Command): void {
  const plan = program.command('plan').description("the account's storage plan");
  plan
    .command('show', { isDefault: true })
    .description('show the plan, usage and the plans you can switch to')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const { client } = await signedIn();
      const [status, offered] = await Promise.all([
        client.call(plans.getPlan, {}),
        client.call(plans.listPlans, {}),
      ]);
      if (options.json) return printJson({ ...status, offered: offered.plans });
      printStatus(status);
      process.stdout.write('plans offered:\n');
      for (const p of offered.plans)
        process.stdout.write(
          `  ${p.id.padEnd(10)} ${printable(p.name).padEnd(10)} ${formatBytes(p.quotaBytes)}${p.id === status.plan.id ? '  (current)' : ''}\n`,
        );
    });
  plan
    .command('set <plan>')
    .description('switch to another offered plan (refused if your backups do not fit in it)')
    .option('--json', 'print JSON')
    .action(async (planId: string, options: { json?: boolean }) => {
      const { client } = await signedIn();
      const status = await client.call(plans.changePlan, { body: { planId } });
      if (options.json) return printJson(status);
      printStatus(status);
    });
}
