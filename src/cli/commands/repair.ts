import type { Command } from 'commander';
import { repairIndex } from '../../client/repair.ts';
import { EXIT } from '../exit-codes.ts';
import { folderVault, printJson, withRepository, withRepositoryOptions } from '../repository-options.ts';

export function register(program: Command): void {
  const repair = program.command('repair').description('rebuild damaged repository metadata');
  withRepositoryOptions(repair.command('index').description('rebuild the index from the pack files alone'))
    .option('--json', 'print as JSON')
    .action(async (options) => {
      const report = await withRepository(options, (vault) =>
        repairIndex(folderVault(vault, 'rebuilding the index')),
      );
      if (options.json) printJson(report);
      else {
        process.stdout.write(
          `index rebuilt: ${report.packs} packs, ${report.blobs} blobs, ${report.snapshotsRestored} snapshots\n`,
        );
        for (const pack of report.damagedPacks) process.stdout.write(`damaged pack skipped: ${pack}\n`);
        for (const lost of report.snapshotsLost)
          process.stdout.write(`snapshot ${lost.id.slice(0, 8)} not restored: ${lost.reason}\n`);
      }
      if (report.damagedPacks.length > 0 || report.snapshotsLost.length > 0) process.exitCode = EXIT.partial;
    });
}
