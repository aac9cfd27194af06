/**
 * The signed-in device's vault: its account's repository on the server (RemoteRepository)
 * opened with the account key kept in the device state, so backup, restore and snapshots
 * work on the account exactly as on a local folder.
 */
import { CumulusError } from '../core/errors.ts';
import { deriveSubkeys } from '../core/keys.ts';
import type { DeviceState } from './device-state.ts';
import { RemoteRepository, type RetryPolicy } from './remote-repository.ts';
import { type Snapshot, UnlockedRepository } from './unlocked-repository.ts';

/** openRemoteVault unlocks the account's repository for a signed-in device; nothing is sent until used. */
export function openRemoteVault(
  state: DeviceState,
  options: { agentVersion?: string; retry?: RetryPolicy } = {},
): UnlockedRepository {
  const repo = new RemoteRepository({
    serverUrl: state.serverUrl,
    token: state.token,
    config: state.repositoryConfig,
    ...options,
  });
  const keys = deriveSubkeys(Buffer.from(state.accountKey, 'base64'), state.repositoryConfig.id);
  return new UnlockedRepository(repo, keys, state.repositoryConfig);
}

/**
 * findDeviceSnapshot resolves "latest" or an ID prefix among the snapshots of the device
 * named `deviceName` (any device of the account when undefined).
 */
export async function findDeviceSnapshot(
  vault: UnlockedRepository,
  ref: string,
  deviceName: string | undefined,
): Promise<Snapshot> {
  if (deviceName === undefined) return vault.findSnapshot(ref);
  const all = await vault.listSnapshots();
  const names = vault.repo instanceof RemoteRepository ? vault.repo.deviceNames : new Map<string, string>();
  const mine = all.filter((s) => names.get(s.record.device) === deviceName);
  if (mine.length === 0) {
    const known = [...new Set(names.values())].filter((n) => n !== '').join(', ');
    throw new CumulusError('snapshot_not_found', `no backup of a device named "${deviceName}"`, {
      hint: known === '' ? 'no device has backed up yet' : `devices with backups: ${known}`,
    });
  }
  if (ref === 'latest') return mine.at(-1)!;
  const snapshot = await vault.findSnapshot(ref);
  if (names.get(snapshot.record.device) !== deviceName)
    throw new CumulusError('snapshot_not_found', `snapshot ${ref} is not one of ${deviceName}'s`);
  return snapshot;
}
