/**
 * One process of simulated devices for the scale-out test: it backs every device it is
 * given up at once, each with the real client on default settings (retries included),
 * and prints one JSON line per device. Run as `node back-up-devices.ts DEVICES.json`.
 */
import { readFile } from 'node:fs/promises';
import { backup } from '../../../src/client/archiver/archiver.ts';
import type { DeviceState } from '../../../src/client/device-state.ts';
import { openRemoteVault } from '../../../src/client/remote-vault.ts';

export interface FleetDevice {
  state: DeviceState;
  tree: string;
}

export interface FleetResult {
  device: string;
  ok: boolean;
  snapshotId?: string;
  error?: string;
  ms: number;
}

const devices = JSON.parse(await readFile(process.argv[2], 'utf8')) as FleetDevice[];
await Promise.all(
  devices.map(async ({ state, tree }) => {
    const started = performance.now();
    let result: FleetResult;
    try {
      const done = await backup(openRemoteVault(state), {
        paths: [tree],
        host: state.deviceName,
        workers: 1,
      });
      result = {
        device: state.deviceId,
        ok: true,
        snapshotId: done.snapshotId,
        ms: performance.now() - started,
      };
    } catch (error) {
      result = { device: state.deviceId, ok: false, error: String(error), ms: performance.now() - started };
    }
    process.stdout.write(`${JSON.stringify(result)}\n`);
  }),
);
