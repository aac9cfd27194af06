/**
 * One process of simulated devices for the scale-out test and benchmark: it backs every
 * device it is given up at once, each with the real client on default settings (retries
 * included), and prints one JSON line per device (with the bytes it added and how long its
 * commit took), then its own CPU time on stderr as `{"cpuMs":…}`. Run as
 * `node back-up-devices.ts DEVICES.json`.
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
  /** Bytes the backup read and the stored bytes it added. */
  bytesRead?: number;
  bytesAdded?: number;
  /** Time spent in the snapshot commit request(s), retries included. */
  commitMs?: number;
}

const devices = JSON.parse(await readFile(process.argv[2], 'utf8')) as FleetDevice[];
await Promise.all(
  devices.map(async ({ state, tree }) => {
    const started = performance.now();
    const vault = openRemoteVault(state);
    let commitMs = 0;
    const commit = vault.repo.commitSnapshot.bind(vault.repo);
    vault.repo.commitSnapshot = async (snapshot) => {
      const at = performance.now();
      try {
        return await commit(snapshot);
      } finally {
        commitMs += performance.now() - at;
      }
    };
    let result: FleetResult;
    try {
      const done = await backup(vault, { paths: [tree], host: state.deviceName, workers: 1 });
      result = {
        device: state.deviceId,
        ok: true,
        snapshotId: done.snapshotId,
        ms: performance.now() - started,
        bytesRead: done.summary.bytesRead,
        bytesAdded: done.summary.bytesAdded,
        commitMs,
      };
    } catch (error) {
      result = { device: state.deviceId, ok: false, error: String(error), ms: performance.now() - started };
    }
    process.stdout.write(`${JSON.stringify(result)}\n`);
  }),
);
const cpu = process.cpuUsage();
process.stderr.write(`${JSON.stringify({ cpuMs: (cpu.user + cpu.system) / 1000 })}\n`);
