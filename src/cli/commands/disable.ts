import type { Command } from 'commander';
import { askYesNo } from '../../agent/ask.ts';
import { machineContext } from '../../agent/context.ts';
import { disableBackup } from '../../agent/enable.ts';
import { CumulusError } from '../../core/errors.ts';

export function register(program: Command): void {
  program
    .command('disable')
    .description('switch automatic backups off for this device (backups already made stay)')
    .option('--yes', 'confirm without asking (scripts)')
    .action(async (options: { yes?: boolean }) => {
      if (!options.yes) {
        if (!process.stdin.isTTY) {
          throw new CumulusError('usage', 'turning backup off needs confirmation', {
            hint: 'run `cumulus disable --yes`',
          });
        }
        if (!(await askYesNo('Turn off automatic backups for this device? Backups already made stay.'))) {
          process.stdout.write('Backup stays on.\n');
          return;
        }
      }
      await disableBackup(machineContext());
      process.stdout.write(
        'Backup is off for this device. Backups already made stay; cumulus enable turns it on again.\n',
      );
    });
}
