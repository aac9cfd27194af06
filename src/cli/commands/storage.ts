/**
 * `cumulus storage`: Manage Storage for the signed-in account — per device and source the
 * logical size, the stored size and the exact bytes deleting it frees — and its delete
 * actions, each showing what it frees and asking to confirm (`--yes` for scripts). The
 * server knows sources only by opaque IDs; namedStorageReport reads their paths, with the
 * key, from the snapshots.
 */
import type { Command } from 'commander';
import { machineContext } from '../../agent/context.ts';
import { expandPath, removeSource } from '../../agent/sources.ts';
import * as lifecycle from '../../api/lifecycle.ts';
import * as api from '../../api/repository.ts';
import {
  type NamedDevice,
  type NamedStorageReport,
  namedStorageReport,
} from '../../client/storage-report.ts';
import { CumulusError, isCumulusError } from '../../core/errors.ts';
import { describeForecast } from '../../core/space-forecast.ts';
import { formatBytes } from '../../core/units.ts';
import { table } from '../format.ts';
import { printJson } from '../repository-options.ts';
import { readAnswer, type SignedInDevice, signedIn } from '../signed-in.ts';
import { retentionLines } from './retention.ts';

function printReport(report: NamedStorageReport): void {
  process.stdout.write(`${formatBytes(report.usedBytes)} of ${formatBytes(report.quotaBytes)} used\n\n`);
  const rows: string[][] = [];
  for (const d of report.devices) {
    rows.push([
      `${d.deviceName || '(removed device)'}${d.current ? ' (this device)' : ''}`,
      formatBytes(d.logicalSize),
      formatBytes(d.storedBytes),
      formatBytes(d.exclusiveBytes),
      String(d.snapshots),
    ]);
    for (const s of d.sources)
      rows.push([
        `  ${s.path}`,
        formatBytes(s.logicalSize),
        formatBytes(s.storedBytes),
        formatBytes(s.exclusiveBytes),
        String(s.snapshots),
      ]);
  }
  process.stdout.write(
    `${table(['Device / source', 'Size', 'Stored', 'Deleting frees', 'Snapshots'], rows)}\n`,
  );
  if (report.devices.length === 0) process.stdout.write('no backups yet\n');
}

function findDevice(report: NamedStorageReport, name: string | undefined, current: string): NamedDevice {
  const device = report.devices.find((d) =>
    name === undefined ? d.deviceId === current : d.deviceName === name,
  );
  if (device === undefined) {
    throw new CumulusError('not_found', `${name ? `device "${name}"` : 'this device'} has no backups`, {
      hint: 'see `cumulus storage` for the devices that hold data',
    });
  }
  return device;
}

/** confirm asks before a delete unless `--yes`; anything but "yes" cancels. */
async function confirm(what: string, yes: boolean | undefined): Promise<void> {
  if (yes) return;
  const answer = await readAnswer(`${what}\nType "yes" to delete: `);
  if (answer.toLowerCase() !== 'yes') {
    throw new CumulusError('usage', 'nothing was deleted', { hint: 'answer "yes" to delete, or pass --yes' });
  }
}

async function deleteSource(
  device: SignedInDevice,
  path: string,
  options: { device?: string; yes?: boolean; json?: boolean },
): Promise<void> {
  const report = await namedStorageReport(device.state, device.client);
  const owner = findDevice(report, options.device, device.state.deviceId);
  const source = owner.sources.find((s) => s.path === path || s.id === path);
  if (source === undefined) {
    throw new CumulusError('not_found', `${owner.deviceName} has no backups of ${path}`, {
      hint: 'see `cumulus storage` for its sources',
    });
  }
  await confirm(
    `Delete ${source.path} from every backup of ${owner.deviceName}? This frees ${formatBytes(source.exclusiveBytes)}.`,
    options.yes,
  );
  const result = await device.client.call(api.deleteSource, {
    body: { deviceId: owner.deviceId, sourceId: source.id, confirm: true },
  });
  printResult(result, options.json);
}

function printResult(result: { freedBytes: number; usedBytes: number }, json: boolean | undefined): void {
  if (json) printJson(result);
  else
    process.stdout.write(
      `freed ${formatBytes(result.freedBytes)}; now ${formatBytes(result.usedBytes)} used\n`,
    );
}

export function register(program: Command): void {
  const storage = program
    .command('storage')
    .description('Manage Storage: what each device and source uses, and deleting it');
  storage
    .command('show', { isDefault: true })
    .description('usage per device and source: size, stored bytes, and what deleting it frees')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const { state, client } = await signedIn();
      const report = await namedStorageReport(state, client);
      const forecast = await client.call(lifecycle.getForecast, {});
      if (options.json)
        return printJson({ ...report, retention: await client.call(lifecycle.getRetention, {}), forecast });
      printReport(report);
      for (const line of await retentionLines(client)) process.stdout.write(`${line}\n`);
      const outlook = describeForecast({ ...forecast, growthPerDay: forecast.growthBytesPerDay });
      process.stdout.write(`${forecast.warning ? 'Warning' : 'Forecast'}: ${outlook}\n`);
    });
  storage
    .command('delete-source <path>')
    .description("delete one source's data from every backup of a device (default: this device)")
    .option('--device <name>', 'the device whose backups hold the source')
    .option('--yes', 'do not ask to confirm')
    .option('--json', 'print JSON')
    .action(async (path: string, options) => deleteSource(await signedIn(), path, options));
  storage
    .command('turn-off <path>')
    .description("stop backing up a source on this device and delete its data from this device's backups")
    .option('--yes', 'do not ask to confirm')
    .option('--json', 'print JSON')
    .action(async (path: string, options) => {
      const device = await signedIn();
      const ctx = machineContext();
      const full = expandPath(path, ctx.paths.home);
      await deleteSource(device, full, options);
      try {
        await removeSource(ctx.settings, full);
      } catch (error) {
        // Backed up by hand, never an agent source: nothing to turn off.
        if (!isCumulusError(error, 'not_found')) throw error;
      }
    });
  storage
    .command('delete-device <name>')
    .description("delete a device's whole backup")
    .option('--yes', 'do not ask to confirm')
    .option('--json', 'print JSON')
    .action(async (name: string, options: { yes?: boolean; json?: boolean }) => {
      const device = await signedIn();
      const report = await namedStorageReport(device.state, device.client);
      const owner = findDevice(report, name, device.state.deviceId);
      await confirm(
        `Delete every backup of ${owner.deviceName} (${owner.snapshots} snapshots)? This frees ${formatBytes(owner.exclusiveBytes)}.`,
        options.yes,
      );
      const result = await device.client.call(api.deleteDeviceBackups, {
        body: { deviceId: owner.deviceId, confirm: true },
      });
      printResult(result, options.json);
    });
}
