/**
 * deviceStateIn reads the device's sign-in state that `cumulus login` writes
 * (src/client/device-state.ts) in a config folder, on every call, so a running agent
 * notices a login or logout without a restart. The agent never writes it.
 */
import { loadDeviceState } from '../../client/device-state.ts';
import { openRemoteVault } from '../../client/remote-vault.ts';
import { decodeSnapshot } from '../../core/snapshot.ts';
import type { DeviceStatePort } from '../ports.ts';

export function deviceStateIn(configDir: string): DeviceStatePort {
  return {
    async read() {
      const state = await loadDeviceState(configDir);
      if (!state) return null;
      return {
        serverUrl: state.serverUrl,
        deviceId: state.deviceId,
        deviceName: state.deviceName,
        accountKeyPresent: true,
      };
    },
    async verifyKey() {
      let state: Awaited<ReturnType<typeof loadDeviceState>>;
      try {
        state = await loadDeviceState(configDir);
      } catch (error) {
        return { ok: false, problem: (error as Error).message };
      }
      if (!state) return { ok: false, problem: 'this device is not signed in, so it holds no account key' };
      const repository = state.repositoryConfig.id.slice(0, 8);
      // Decrypting the newest snapshot's description proves the key is the repository's:
      // AES-GCM refuses any other key. One small blob, so the check stays cheap.
      const vault = openRemoteVault(state, { retry: { attempts: 1, baseDelayMs: 0, maxDelayMs: 0 } });
      const records = await vault.repo.listSnapshots();
      const newest = records.reduce<(typeof records)[number] | undefined>(
        (latest, record) => (latest === undefined || record.time > latest.time ? record : latest),
        undefined,
      );
      if (newest === undefined)
        return {
          ok: true,
          detail: `account key present for repository ${repository} (no backup yet to open)`,
        };
      try {
        decodeSnapshot(await vault.readPlain(newest.id));
      } catch (error) {
        return {
          ok: false,
          problem: `it cannot open snapshot ${newest.id.slice(0, 8)} of repository ${repository}: ${(error as Error).message}`,
        };
      }
      return {
        ok: true,
        detail: `account key opens repository ${repository} (newest snapshot ${newest.id.slice(0, 8)})`,
      };
    },
  };
}
