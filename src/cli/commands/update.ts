import type { Command } from 'commander';
import { machineContext } from '../../agent/context.ts';
import { runUpdate } from '../../agent/updater.ts';

export function register(program: Command): void {
  program
    .command('update')
    .description('install the latest agent version the way this one was installed, and verify it')
    .action(async () => {
      const ctx = machineContext();
      process.stdout.write(`${(await runUpdate(ctx.server, ctx.version)).join('\n')}\n`);
    });
}
