/**
 * deviceStateIn reads the device's sign-in state that `cumulus login` writes
 * (src/client/device-state.ts) in a config folder, on every call, so a running agent
 * notices a login or logout without a restart. The agent never writes it.
 */
import { loadDeviceState } from '../../client/device-state.ts';
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
      try {
        const state = await loadDeviceState(configDir);
        if (!state) return { ok: false, problem: 'this device is not signed in, so it holds no account key' };
        // loadDeviceState has checked the key is 32 bytes; opening the remote repository is the backup's first step.
        return {
          ok: true,
          detail: `account key present for repository ${state.repositoryConfig.id.slice(0, 8)}`,
        };
      } catch (error) {
        return { ok: false, problem: (error as Error).message };
      }
    },
  };
}
