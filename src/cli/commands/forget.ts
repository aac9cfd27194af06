import type { Command } from 'commander';
import { applyRetention, type RetentionPolicy } from '../../client/retention.ts';
import type { Snapshot } from '../../client/unlocked-repository.ts';
import { CumulusError } from '../../core/errors.ts';
import { formatBytes } from '../../core/units.ts';
import { folderVault, printJson, withRepository, withRepositoryOptions } from '../repository-options.ts';

const count = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new CumulusError('usage', `"${value}" is not a count`);
  return n;
};

/** Snapshots are grouped by host and paths: a policy keeps N of each group, as restic does. */
function groupKey(s: Snapshot): string {
  return `${s.info.host}\0${s.info.sources
    .map((x) => x.path)
    .sort()
    .join('\0')}`;
}

export function register(program: Command): void {
  withRepositoryOptions(
    program.command('forget').description('remove snapshots by ID or by a retention policy'),
  )
    .argument('[snapshots...]', 'snapshot IDs to forget')
    .option('--keep-last <n>', 'keep the n newest snapshots', count)
    .option('--keep-hourly <n>', 'keep the newest snapshot of each of the last n hours', count)
    .option('--keep-daily <n>', 'keep the newest snapshot of each of the last n days', count)
    .option('--keep-weekly <n>', 'keep the newest snapshot of each of the last n weeks', count)
    .option('--keep-monthly <n>', 'keep the newest snapshot of each of the last n months', count)
    .option('--keep-yearly <n>', 'keep the newest snapshot of each of the last n years', count)
    .option('--dry-run', 'only say what would be removed')
    .option('--prune', 'reclaim the space right after')
    .option('--json', 'print as JSON')
    .action(async (ids: string[], options) => {
      const policy: RetentionPolicy = {
        last: options.keepLast,
        hourly: options.keepHourly,
        daily: options.keepDaily,
        weekly: options.keepWeekly,
        monthly: options.keepMonthly,
        yearly: options.keepYearly,
      };
      const hasPolicy = Object.values(policy).some((v) => v !== undefined);
      if (!hasPolicy && ids.length === 0) {
        throw new CumulusError('usage', 'nothing to forget', {
          hint: 'name snapshot IDs or give --keep-* rules',
        });
      }
      const result = await withRepository(options, async (vault) => {
        const folder = options.prune ? folderVault(vault, 'pruning') : undefined;
        const remove: string[] = [];
        for (const id of ids) remove.push(await vault.findSnapshotId(id));
        if (hasPolicy) {
          const groups = new Map<string, Snapshot[]>();
          for (const s of await vault.listSnapshots())
            groups.set(groupKey(s), [...(groups.get(groupKey(s)) ?? []), s]);
          for (const group of groups.values()) {
            const decided = applyRetention(
              group.map((s) => ({ id: s.record.id, time: s.info.time })),
              policy,
            );
            for (const r of decided.remove) remove.push(r.id);
          }
        }
        const removeIds = [...new Set(remove)];
        if (!options.dryRun && removeIds.length > 0) await vault.repo.forgetSnapshots(removeIds);
        const gc = folder !== undefined && !options.dryRun ? await folder.repo.gc({ graceMs: 0 }) : undefined;
        return { removed: removeIds, dryRun: options.dryRun ?? false, prune: gc };
      });
      if (options.json) printJson(result);
      else {
        const verb = result.dryRun ? 'would remove' : 'removed';
        for (const id of result.removed) process.stdout.write(`${verb} snapshot ${id.slice(0, 8)}\n`);
        process.stdout.write(`${result.removed.length} snapshot(s) ${verb}\n`);
        if (result.prune) process.stdout.write(`pruned: ${formatBytes(result.prune.freedBytes)} freed\n`);
      }
    });
}
