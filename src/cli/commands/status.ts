import type { Command } from 'commander';
import { machineContext } from '../../agent/context.ts';
import { agentStatus, renderStatus } from '../../agent/status.ts';

export function register(program: Command): void {
  program
    .command('status')
    .description('last backup, what the agent is doing or waiting for and why, the next step, storage used')
    .option('--json', 'print as JSON')
    .action(async (options: { json?: boolean }) => {
      const ctx = machineContext();
      const report = await agentStatus(ctx);
      process.stdout.write(
        options.json ? `${JSON.stringify(report, null, 2)}\n` : renderStatus(report, ctx.clock.now()),
      );
    });
}
