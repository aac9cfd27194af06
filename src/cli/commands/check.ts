import type { Command } from 'commander';
import { check } from '../../client/checker.ts';
import { EXIT } from '../exit-codes.ts';
import { folderVault, printJson, withRepository, withRepositoryOptions } from '../repository-options.ts';

export function register(program: Command): void {
  withRepositoryOptions(
    program.command('check').description('verify the repository can restore every snapshot'),
  )
    .option('--read-data', 'read every pack and verify every byte')
    .option('--json', 'print the report as JSON')
    .action(async (options) => {
      const report = await withRepository(options, (vault) =>
        check(folderVault(vault, 'checking packs'), {
          readData: options.readData ?? false,
          onProgress: options.json ? undefined : (message) => process.stderr.write(`${message}\n`),
        }),
      );
      if (options.json) printJson(report);
      else {
        for (const pack of report.damagedPacks) {
          process.stdout.write(`damaged pack ${pack.packId}: ${pack.problem}\n`);
          if (pack.snapshots.length > 0)
            process.stdout.write(`  snapshots affected: ${pack.snapshots.join(', ')}\n`);
          for (const file of pack.files) process.stdout.write(`  cannot restore: ${file}\n`);
        }
        for (const error of report.errors) process.stdout.write(`error: ${error}\n`);
        process.stdout.write(
          report.ok
            ? `no errors: ${report.packsChecked} packs, ${report.snapshotsChecked} snapshots, ${report.treesChecked} trees checked\n`
            : `the repository has damage: ${report.damagedPacks.length} damaged pack(s), ${report.errors.length} other error(s)\n`,
        );
      }
      if (!report.ok) process.exitCode = EXIT.error;
    });
}
