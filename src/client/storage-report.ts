/**
 * The Manage Storage report as the owner reads it. The server knows each source only by
 * an opaque ID; the paths are in the snapshots, which only the account key decrypts, so
 * the report is named here, on the device. `cumulus storage` and the agent both read it.
 */
import * as api from '../api/repository.ts';
import type { AccountClient } from './account-client.ts';
import type { DeviceState } from './device-state.ts';
import type { RetryPolicy } from './remote-repository.ts';
import { openRemoteVault } from './remote-vault.ts';

type DeviceUsage = api.StorageReport['devices'][number];
export type NamedSource = DeviceUsage['sources'][number] & { path: string };
export type NamedDevice = Omit<DeviceUsage, 'sources'> & { sources: NamedSource[] };

/** NamedStorageReport is the server's storage report with each source's path, as far as the snapshots name it. */
export interface NamedStorageReport extends Omit<api.StorageReport, 'devices'> {
  devices: NamedDevice[];
}

export interface VaultOptions {
  agentVersion?: string;
  retry?: RetryPolicy;
}

/** sourcePaths maps source IDs to the paths the snapshots recorded (decrypted with the account key). */
async function sourcePaths(state: DeviceState, options: VaultOptions): Promise<Map<string, string>> {
  const vault = openRemoteVault(state, options);
  try {
    const paths = new Map<string, string>();
    for (const { info } of await vault.listSnapshots()) for (const s of info.sources) paths.set(s.id, s.path);
    return paths;
  } finally {
    await vault.repo.close();
  }
}

/**
 * namedStorageReport fetches the account's storage report through `client` and names
 * every source with its path; a source no snapshot names (its snapshots were forgotten
 * between the two reads) is shown by the start of its ID. It fails when the snapshots
 * cannot be read or decrypted (a missing or wrong account key).
 */
export async function namedStorageReport(
  state: DeviceState,
  client: AccountClient,
  options: VaultOptions = {},
): Promise<NamedStorageReport> {
  const [report, paths] = await Promise.all([client.call(api.getStorage, {}), sourcePaths(state, options)]);
  return {
    ...report,
    devices: report.devices.map((d) => ({
      ...d,
      sources: d.sources.map((s) => ({ ...s, path: paths.get(s.id) ?? `(source ${s.id.slice(0, 8)})` })),
    })),
  };
}
