import type { Command } from 'commander';
import { askYesNo } from '../../agent/ask.ts';
import { machineContext } from '../../agent/context.ts';
import { formatWhen } from '../../agent/format.ts';
import type { SwitchSync } from '../../agent/ports.ts';
import { settingRows } from '../../agent/settings.ts';
import { AccountClient } from '../../client/account-client.ts';
import { loadDeviceState } from '../../client/device-state.ts';
import { retentionLines } from './retention.ts';

/** serverRetention is the account's retention as the server applies it; signed out or offline, says so. */
async function serverRetention(): Promise<string[]> {
  const state = await loadDeviceState();
  if (state === undefined) return ['Retention: applied by the server once signed in (cumulus login)'];
  try {
    return await retentionLines(new AccountClient({ serverUrl: state.serverUrl, token: state.token }));
  } catch {
    return ['Retention: the server did not answer (cumulus retention shows it when it does)'];
  }
}

/**
 * switchRow is the backup switch as `settings show` prints it: the same switch the console
 * shows, which the running agent keeps in step with the console's within seconds.
 */
function switchRow(backup: SwitchSync): { key: string; value: string; description: string } {
  const when = backup.changedAt === null ? 'never switched' : `switched ${formatWhen(backup.changedAt)}`;
  return {
    key: 'backup',
    value: backup.enabled ? 'on' : 'off',
    description: `automatic backups (cumulus enable / disable, or the web console; ${when})`,
  };
}

export function register(program: Command): void {
  const settings = program.command('settings').description('when automatic backups may run');
  settings
    .command('show')
    .description('print every setting, its value and meaning')
    .option('--json', 'print as JSON')
    .action(async (options: { json?: boolean }) => {
      const ctx = machineContext();
      const [inspection, backup] = await Promise.all([ctx.settings.inspect(), ctx.backupSwitch.read()]);
      const switched = { enabled: backup.enabled, changedAt: backup.changedAt };
      if (options.json) {
        process.stdout.write(
          `${JSON.stringify({ backup: switched, ...inspection.settings, problems: inspection.problems }, null, 2)}\n`,
        );
        return;
      }
      const rows = [switchRow(switched), ...settingRows(inspection.settings)];
      const width = Math.max(...rows.map((r) => r.key.length));
      for (const r of rows)
        process.stdout.write(
          `${r.key.padEnd(width)}  ${String(r.value ?? 'off').padEnd(9)}  ${r.description}\n`,
        );
      for (const problem of inspection.problems)
        process.stdout.write(`problem: ${problem} (cumulus settings reset fixes it)\n`);
      for (const line of await serverRetention()) process.stdout.write(`${line}\n`);
    });
  settings
    .command('set <key> <value>')
    .description('change one setting (see settings show for the keys)')
    .action(async (key: string, value: string) => {
      const saved = await machineContext().settings.set(key, value);
      const row = settingRows(saved).find((r) => r.key === key)!;
      process.stdout.write(`${key} = ${row.value ?? 'off'}\n`);
    });
  settings
    .command('reset')
    .description('return every setting to its default; keeps sign-in, keys, backups and the list of folders')
    .option('--yes', 'do not ask')
    .action(async (options: { yes?: boolean }) => {
      if (!options.yes && process.stdin.isTTY && !(await askYesNo('Return every setting to its default?'))) {
        process.stdout.write('Settings unchanged.\n');
        return;
      }
      await machineContext().settings.reset();
      process.stdout.write(
        'Settings are back to their defaults. Sign-in, keys, backups and the list of folders are unchanged.\n',
      );
    });
}
