import type { Command } from 'commander';
import { printJson, withRepository, withRepositoryOptions } from '../repository-options.ts';

export function register(program: Command): void {
  withRepositoryOptions(program.command('ls').description('list the files of a snapshot'))
    .argument('<snapshot>', 'snapshot ID or "latest"')
    .argument('[path]', 'only entries at or below this path (as shown by ls)')
    .option('--json', 'print as JSON')
    .action(async (ref: string, filter: string | undefined, options) => {
      const entries = await withRepository(options, async (vault) => {
        const snapshot = await vault.findSnapshot(ref);
        const found: { path: string; type: string; size?: number; mode: number; mtime: string }[] = [];
        const wanted = filter?.replace(/\/+$/, '');
        for (const source of snapshot.info.sources) {
          for await (const { path, entry } of vault.walk(source.tree, source.path)) {
            if (wanted !== undefined && path !== wanted && !path.startsWith(`${wanted}/`)) continue;
            found.push({
              path,
              type: entry.type,
              size: entry.type === 'file' ? entry.size : undefined,
              mode: entry.mode,
              mtime: new Date(Number(BigInt(entry.mtimeNs) / 1_000_000n)).toISOString(),
            });
          }
        }
        return found;
      });
      if (options.json) printJson(entries);
      else for (const e of entries) process.stdout.write(`${e.type === 'dir' ? `${e.path}/` : e.path}\n`);
    });
}
