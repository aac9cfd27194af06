import type { Command } from 'commander';
import { diffSnapshots } from '../../client/differ.ts';
import { printJson, withRepository, withRepositoryOptions } from '../repository-options.ts';

export function register(program: Command): void {
  withRepositoryOptions(program.command('diff').description('show what changed between two snapshots'))
    .argument('<a>', 'older snapshot')
    .argument('<b>', 'newer snapshot')
    .option('--json', 'print as JSON')
    .action(async (a: string, b: string, options) => {
      const changes = await withRepository(options, async (vault) =>
        diffSnapshots(vault, await vault.findSnapshot(a), await vault.findSnapshot(b)),
      );
      if (options.json) printJson(changes);
      else {
        for (const c of changes) process.stdout.write(`${c.kind}  ${c.path}\n`);
        const count = (k: string) => changes.filter((c) => c.kind === k).length;
        process.stdout.write(
          `${count('+')} added, ${count('-')} removed, ${count('M')} modified, ${count('T') + count('U')} other\n`,
        );
      }
    });
}
