import type { Command } from 'commander';
import { formatBytes } from '../../core/units.ts';
import { folderVault, printJson, withRepository, withRepositoryOptions } from '../repository-options.ts';

export function register(program: Command): void {
  withRepositoryOptions(
    program.command('prune').description('delete data no snapshot uses and repack mostly-empty packs'),
  )
    .option('--dry-run', 'only say what would be freed')
    .option('--repack-threshold <fraction>', 'repack a pack when this fraction of it is garbage', Number, 0.5)
    .option(
      '--grace <minutes>',
      'keep unreferenced data younger than this (running backups are protected by their locks)',
      Number,
      0,
    )
    .option('--json', 'print as JSON')
    .action(async (options) => {
      const report = await withRepository(options, (vault) =>
        folderVault(vault, 'pruning').repo.gc({
          dryRun: options.dryRun ?? false,
          repackThreshold: options.repackThreshold,
          graceMs: options.grace * 60_000,
        }),
      );
      if (options.json) printJson(report);
      else {
        process.stdout.write(
          `${options.dryRun ? 'would free' : 'freed'} ${formatBytes(report.freedBytes)}: ${report.deletedBlobs} blob(s) removed, ${report.deletedPacks} pack(s) deleted, ${report.repackedPacks} repacked\n`,
        );
        if (report.condemnedPacks > 0) {
          process.stdout.write(
            `${report.condemnedPacks} pack file(s) out of the index are kept until the grace is over and no older backup runs; a later prune deletes them\n`,
          );
        }
        if (report.keptYoungBlobs > 0) {
          process.stdout.write(
            `${report.keptYoungBlobs} unreferenced blob(s) kept: a backup may still be using them\n`,
          );
        }
      }
    });
}
