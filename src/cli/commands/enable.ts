import type { Command } from 'commander';
import { machineContext } from '../../agent/context.ts';
import { enableBackup } from '../../agent/enable.ts';

export function register(program: Command): void {
  program
    .command('enable')
    .description(
      'switch automatic backups on for this device (first time: back up Documents, Desktop, Pictures)',
    )
    .option('--yes', 'do not ask (scripts); enabling never asks without a terminal either')
    .action(async () => {
      const result = await enableBackup(machineContext());
      const lines = ['Backup is on for this device.'];
      if (result.sourcesAdded.length > 0) lines.push(`Backing up: ${result.sourcesAdded.join(', ')}`);
      if (result.sources.length === 0) lines.push('No folder is chosen yet: cumulus sources add ~/Documents');
      lines.push(
        'The agent backs up when the device is on power, on Wi-Fi or Ethernet, and idle (cumulus status).',
      );
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
