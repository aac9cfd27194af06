/**
 * Server benchmark: backup throughput through the server on loopback versus the same
 * backup into a local repository (target ≥ 0.8×), then N devices of one account doing
 * incremental backups at once (throughput, p50/p99 commit latency, errors).
 * Usage: npx node bench/server.ts [--mb 64] [--devices 20]
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { backup } from '../src/client/archiver/archiver.ts';
import type { DeviceState } from '../src/client/device-state.ts';
import { initRepository } from '../src/client/local-keyring.ts';
import { openRemoteVault } from '../src/client/remote-vault.ts';
import { TEST_KDF } from '../src/core/keys.ts';
import { pseudoRandom } from '../test/helpers/trees.ts';
import { approvedDevice, createAccount, firstDevice, startTestServer } from '../test/server/helpers.ts';

const { values } = parseArgs({
  options: { mb: { type: 'string', default: '64' }, devices: { type: 'string', default: '20' } },
});
const MB = Number(values.mb);
const DEVICES = Number(values.devices);
const PASSWORD = 'bench password';

async function corpus(mb: number, seed: number): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cumulus-bench-'));
  for (let i = 0; i < mb; i++)
    await writeFile(join(dir, `f${i}.bin`), pseudoRandom(1 << 20, seed * 10_000 + i));
  return dir;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const data = await corpus(MB, 1);
const localDir = await mkdtemp(join(tmpdir(), 'cumulus-bench-repo-'));
const local = await initRepository(localDir, PASSWORD, { kdf: TEST_KDF });
let started = performance.now();
await backup(local, { paths: [data], host: 'bench' });
const localSeconds = (performance.now() - started) / 1000;
await local.repo.close();

const server = await startTestServer({
  config: { rateLimit: { perMinute: 1_000_000, secretPerMinute: 1_000_000 } },
});
await createAccount(server, 'bench@example.com', PASSWORD);
const { state } = await firstDevice(server, 'bench@example.com', PASSWORD, 'device-0');
const remote = openRemoteVault(state);
started = performance.now();
await backup(remote, { paths: [data], host: 'device-0' });
const remoteSeconds = (performance.now() - started) / 1000;
await remote.repo.close();

console.log(
  `backup of ${MB} MiB: local ${(MB / localSeconds).toFixed(1)} MiB/s, through the server ${(MB / remoteSeconds).toFixed(1)} MiB/s (${(localSeconds / remoteSeconds).toFixed(2)}×)`,
);

// N devices, each with its own small folder, back up, change one file, back up again, all at once.
const devices: DeviceState[] = [state];
for (let i = 1; i < DEVICES; i++) devices.push(await approvedDevice(server, state, PASSWORD, `device-${i}`));
const folders = await Promise.all(devices.map((_, i) => corpus(2, 100 + i)));
await Promise.all(
  devices.map((d, i) => backup(openRemoteVault(d), { paths: [folders[i]], host: d.deviceName, workers: 1 })),
);
for (const [i, folder] of folders.entries())
  await writeFile(join(folder, 'f0.bin'), pseudoRandom(1 << 20, 5000 + i));
const latencies: number[] = [];
let errors = 0;
started = performance.now();
await Promise.all(
  devices.map(async (d, i) => {
    const vault = openRemoteVault(d);
    const commit = vault.repo.commitSnapshot.bind(vault.repo);
    vault.repo.commitSnapshot = async (c) => {
      const t = performance.now();
      await commit(c);
      latencies.push(performance.now() - t);
    };
    await backup(vault, { paths: [folders[i]], host: d.deviceName, workers: 1 }).catch(() => errors++);
  }),
);
const seconds = (performance.now() - started) / 1000;
latencies.sort((a, b) => a - b);
console.log(
  `${DEVICES} devices incremental at once: ${(DEVICES / seconds).toFixed(1)} backups/s (${(DEVICES / seconds).toFixed(1)} MiB/s changed), commit p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms, errors ${errors}`,
);
await server.close();
for (const dir of [data, localDir, ...folders]) await rm(dir, { recursive: true, force: true });
