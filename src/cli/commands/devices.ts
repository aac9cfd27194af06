/**
 * `cumulus devices` lists the account's devices with their last backup, the last outcome
 * and its reason, and the progress of a backup running now; renames and removes them.
 */
import type { Command } from 'commander';
import { describeProgress } from '../../agent/format.ts';
import * as devices from '../../api/devices.ts';
import * as lifecycle from '../../api/lifecycle.ts';
import type { AccountClient } from '../../client/account-client.ts';
import { CumulusError } from '../../core/errors.ts';
import { printable } from '../format.ts';
import { printJson } from '../repository-options.ts';
import { signedIn } from '../signed-in.ts';

/** describeReason puts a reported reason in words: its codes, then its numbers (the server holds no words). */
function describeReason(reason: devices.Reason): string {
  const values = Object.entries(reason.values).map(([name, value]) => `${name} ${value}`);
  return [reason.codes.join(', '), ...values].filter((part) => part !== '').join('; ');
}

function describeDevice(d: devices.Device, pinned: boolean): string {
  const last = d.lastAttemptAt
    ? `last attempt ${d.lastAttemptAt}: ${d.lastOutcome}${d.lastReason ? ` (${describeReason(d.lastReason)})` : ''}`
    : 'no backup reported yet';
  return (
    `${d.id}  "${printable(d.name)}"${d.current ? ' (this device)' : ''}  ${printable(d.platform)}  agent ${printable(d.agentVersion)}  ${d.signedIn ? 'signed in' : 'signed out'}${pinned ? '  pinned (backups never expire)' : ''}\n` +
    `    last backup ${d.lastBackupAt ?? 'never'}; ${last}\n` +
    (d.progress ? `    backing up: ${describeProgress(d.progress)}, as of ${d.progress.at}\n` : '')
  );
}

/** findDevice accepts a device ID or its exact name (which must then be unique). */
export async function findDevice(client: AccountClient, idOrName: string): Promise<devices.Device> {
  const { devices: all } = await client.call(devices.listDevices, {});
  const matches = all.filter((d) => d.id === idOrName || d.name === idOrName);
  if (matches.length === 1) return matches[0];
  throw new CumulusError(
    matches.length === 0 ? 'not_found' : 'usage',
    matches.length === 0
      ? `no device "${idOrName}" in this account`
      : `several devices are named "${idOrName}"`,
    {
      hint: 'use the device ID from `cumulus devices list`',
    },
  );
}

export function register(program: Command): void {
  const command = program.command('devices').description("this account's devices");
  command
    .command('list', { isDefault: true })
    .description('list the devices and their last backup')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const { client } = await signedIn();
      const [{ devices: all }, pins] = await Promise.all([
        client.call(devices.listDevices, {}),
        client.call(lifecycle.listPins, {}),
      ]);
      const pinned = new Set(pins.devices.map((pin) => pin.deviceId));
      if (options.json) return printJson({ devices: all.map((d) => ({ ...d, pinned: pinned.has(d.id) })) });
      for (const d of all) process.stdout.write(describeDevice(d, pinned.has(d.id)));
    });
  command
    .command('rename <device> <name>')
    .description('rename a device (by ID or current name)')
    .action(async (idOrName: string, name: string) => {
      const { client } = await signedIn();
      const device = await findDevice(client, idOrName);
      const renamed = await client.call(devices.renameDevice, {
        params: { deviceId: device.id },
        body: { name },
      });
      process.stdout.write(`renamed "${printable(device.name)}" to "${printable(renamed.name)}"\n`);
    });
  for (const [name, endpoint, description, done] of [
    [
      'pin',
      lifecycle.pinDevice,
      "keep a device's backups however long it stays silent (they never expire)",
      'pinned: its backups never expire',
    ],
    [
      'unpin',
      lifecycle.unpinDevice,
      "let a pinned device's backups expire again after a long silence",
      'unpinned: its backups expire again after a long silence',
    ],
  ] as const) {
    command
      .command(`${name} <device>`)
      .description(`${description} (by ID or name)`)
      .action(async (idOrName: string) => {
        const { client } = await signedIn();
        const device = await findDevice(client, idOrName);
        await client.call(endpoint, { params: { deviceId: device.id } });
        process.stdout.write(`"${printable(device.name)}" ${done}\n`);
      });
  }
  command
    .command('remove <device>')
    .description('remove a device: it is signed out; with --delete-backups its backups are deleted too')
    .option('--delete-backups', "also delete the device's backups (space is freed by garbage collection)")
    .option('--yes', 'confirm the removal')
    .action(async (idOrName: string, options: { deleteBackups?: boolean; yes?: boolean }) => {
      const { client } = await signedIn();
      const device = await findDevice(client, idOrName);
      if (!options.yes) {
        throw new CumulusError(
          'usage',
          `removing "${device.name}" signs it out${options.deleteBackups ? ' and deletes its backups' : ''}`,
          {
            hint: 'add --yes to confirm',
          },
        );
      }
      await client.call(devices.removeDevice, {
        params: { deviceId: device.id },
        query: { deleteBackups: options.deleteBackups ?? false },
      });
      process.stdout.write(
        `removed "${device.name}"${options.deleteBackups ? ' and deleted its backups' : '; its backups stay restorable'}\n`,
      );
    });
}
