/**
 * `cumulus retention`: the account's retention policy, which the server applies after
 * every backup and daily (docs/lifecycle.md), and each device's override; `set` changes it.
 */
import type { Command } from 'commander';
import * as devices from '../../api/devices.ts';
import * as lifecycle from '../../api/lifecycle.ts';
import type { AccountClient } from '../../client/account-client.ts';
import { CumulusError } from '../../core/errors.ts';
import { describePolicy, type TieredPolicy } from '../../core/tiered-retention.ts';
import { printable } from '../format.ts';
import { printJson } from '../repository-options.ts';
import { signedIn } from '../signed-in.ts';
import { findDevice } from './devices.ts';

/** retentionLines says the account's policy and each device's that differs, as `show`, `settings` and `storage` print them. */
export async function retentionLines(client: AccountClient): Promise<string[]> {
  const [settings, { devices: all }] = await Promise.all([
    client.call(lifecycle.getRetention, {}),
    client.call(devices.listDevices, {}),
  ]);
  const names = new Map(all.map((d) => [d.id, d.name]));
  return [
    `Retention: ${describePolicy(settings.account)}${settings.accountIsServerDefault ? " (the server's default)" : ''}`,
    ...settings.devices.map(
      (d) => `  "${printable(names.get(d.deviceId) ?? d.deviceId)}": ${describePolicy(d.policy)}`,
    ),
  ];
}

function count(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,7}$/.test(value))
    throw new CumulusError('usage', `${flag} takes a whole number, not "${value}"`);
  return Number(value);
}

interface SetOptions {
  device?: string;
  off?: boolean;
  default?: boolean;
  hours?: string;
  days?: string;
  weeks?: string;
  months?: string;
}

async function setRetention(options: SetOptions): Promise<void> {
  const { client } = await signedIn();
  const windows = {
    allHours: count(options.hours, '--hours'),
    dailyDays: count(options.days, '--days'),
    weeklyWeeks: count(options.weeks, '--weeks'),
    monthlyMonths: count(options.months, '--months'),
  };
  const given = Object.values(windows).some((v) => v !== undefined);
  if ([options.off, options.default, given].filter(Boolean).length !== 1) {
    throw new CumulusError('usage', 'say one of: --off, --default, or the windows to change', {
      hint: 'e.g. `cumulus retention set --days 60` or `cumulus retention set --device laptop --off`',
    });
  }
  const device = options.device === undefined ? undefined : await findDevice(client, options.device);
  let policy: TieredPolicy | 'off' | 'default' = options.off ? 'off' : 'default';
  if (given) {
    const settings = await client.call(lifecycle.getRetention, {});
    const override = settings.devices.find((d) => d.deviceId === device?.id);
    const base = override === undefined ? settings.account : override.policy;
    if (base === null) {
      throw new CumulusError('usage', 'retention is off there: give all four windows, or --default first');
    }
    policy = Object.fromEntries(
      Object.entries(base).map(([key, value]) => [key, windows[key as keyof TieredPolicy] ?? value]),
    ) as unknown as TieredPolicy;
  }
  await client.call(lifecycle.setRetention, { body: { ...(device && { deviceId: device.id }), policy } });
  for (const line of await retentionLines(client)) process.stdout.write(`${line}\n`);
}

export function register(program: Command): void {
  const command = program
    .command('retention')
    .description('which snapshots the server keeps: every recent one, then fewer as they age');
  command
    .command('show', { isDefault: true })
    .description("the account's policy and the devices that override it")
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const { client } = await signedIn();
      if (options.json) return printJson(await client.call(lifecycle.getRetention, {}));
      for (const line of await retentionLines(client)) process.stdout.write(`${line}\n`);
    });
  command
    .command('set')
    .description("change the account's policy, or one device's with --device")
    .option('--device <device>', 'only this device (ID or name)')
    .option('--hours <n>', 'keep every snapshot younger than n hours')
    .option('--days <n>', 'then the newest of each day, for n days')
    .option('--weeks <n>', 'then the newest of each week, for n weeks')
    .option('--months <n>', 'then the newest of each month, for n months')
    .option('--off', 'keep every snapshot')
    .option('--default', "back to the account's policy (with --device), or the server's")
    .action((options: SetOptions) => setRetention(options));
}
