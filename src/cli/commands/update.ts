import type { Command } from 'commander';
import { machineContext } from '../../agent/context.ts';
import { updateSteps } from '../../agent/updater.ts';

export function register(program: Command): void {
  program
    .command('update')
    .description('say the commands that install the latest agent version (it installs nothing itself)')
    .action(async () => {
      const ctx = machineContext();
      process.stdout.write(`${(await updateSteps(ctx.server, ctx.version)).join('\n')}\n`);
    });
}
