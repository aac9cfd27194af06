import type { Command } from 'commander';
import { machineContext } from '../../agent/context.ts';
import { addSource, expandPath, removeSource } from '../../agent/sources.ts';

export function register(program: Command): void {
  const sources = program.command('sources').description('the folders this device backs up');
  sources
    .command('add <path>')
    .description('back up a folder (or add excludes to one already backed up)')
    .option('--exclude <pattern...>', 'gitignore-style pattern, relative to the folder (repeatable)', [])
    .action(async (path: string, options: { exclude: string[] }) => {
      const ctx = machineContext();
      const full = expandPath(path, ctx.paths.home);
      const settings = await addSource(ctx.settings, full, options.exclude);
      const source = settings.sources.find((s) => s.path === full)!;
      const excludes = source.excludes.length ? ` (excluding ${source.excludes.join(', ')})` : '';
      process.stdout.write(`Backing up ${full}${excludes}.\n`);
    });
  sources
    .command('remove <path>')
    .description('stop backing up a folder (its backed-up data stays until deleted with cumulus storage)')
    .action(async (path: string) => {
      const ctx = machineContext();
      const full = expandPath(path, ctx.paths.home);
      await removeSource(ctx.settings, full);
      process.stdout.write(
        `No longer backing up ${full}. Its backed-up data stays; cumulus storage can delete it.\n`,
      );
    });
  sources
    .command('list')
    .description('list the folders backed up and their excludes')
    .option('--json', 'print as JSON')
    .action(async (options: { json?: boolean }) => {
      const { settings } = await machineContext().settings.inspect();
      if (options.json) {
        process.stdout.write(`${JSON.stringify(settings.sources, null, 2)}\n`);
        return;
      }
      if (settings.sources.length === 0)
        process.stdout.write('No folder is backed up yet: cumulus sources add PATH\n');
      for (const s of settings.sources) {
        process.stdout.write(
          `${s.path}${s.excludes.length ? `  (excluding ${s.excludes.join(', ')})` : ''}\n`,
        );
      }
    });
}
