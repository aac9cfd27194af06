/**
 * signedOutDeviceState is the DeviceStatePort until the device's sign-in state
 * (src/client/device-state.ts, written by `cumulus login`) is wired here: it says what is
 * true of a device nobody has signed in, that it is not signed in.
 */
import type { DeviceStatePort } from '../ports.ts';

export function signedOutDeviceState(): DeviceStatePort {
  return {
    read: async () => null,
    verifyKey: async () => ({
      ok: false,
      problem: 'this device is not signed in, so it holds no account key',
    }),
  };
}
