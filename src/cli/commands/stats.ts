import type { Command } from 'commander';
import { formatBytes } from '../../core/units.ts';
import { printJson, withRepository, withRepositoryOptions } from '../repository-options.ts';

export function register(program: Command): void {
  withRepositoryOptions(
    program.command('stats').description('show logical size, stored size and the deduplication ratio'),
  )
    .option('--json', 'print as JSON')
    .action(async (options) => {
      const usage = await withRepository(options, (vault) => vault.repo.usage());
      const ratio = usage.referencedBytes > 0 ? usage.logicalBytes / usage.referencedBytes : 0;
      const stats = { ...usage, dedupRatio: Number(ratio.toFixed(3)) };
      if (options.json) printJson(stats);
      else {
        process.stdout.write(
          [
            `snapshots:      ${usage.snapshots}`,
            `logical size:   ${formatBytes(usage.logicalBytes)} (all files of all snapshots)`,
            `stored size:    ${formatBytes(usage.referencedBytes)} (${usage.referencedBlobs} blobs in use)`,
            `on disk:        ${formatBytes(usage.totalPackBytes)} in ${usage.packs} packs`,
            `ratio:          ${ratio.toFixed(2)}x (logical / stored)`,
            '',
          ].join('\n'),
        );
      }
    });
}
