/**
 * Server benchmark: backup throughput through the server on loopback versus the same
 * backup into a local repository (target ≥ 0.8×), then N devices of one account doing
 * incremental backups at once (throughput, p50/p99 commit latency, errors). Client and
 * server run in this one process, so one `node --cpu-prof` profile shows both.
 * `npm run bench` runs it too (runServerBench); alone:
 * Usage: npx node bench/server.ts [--mb 64] [--devices 20] [--runs 3] [--markdown]
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
import { renderTable } from './table.ts';

const PASSWORD = 'bench password';

export interface ServerBenchOptions {
  /** Corpus size in MiB (files of 1 MiB of random bytes). */
  mb: number;
  devices: number;
  /** Runs of each backup; the table shows the median. */
  runs: number;
}

export interface ServerBenchResult {
  mb: number;
  runs: number;
  /** MiB/s of each run, in run order. */
  localMiBs: number[];
  remoteMiBs: number[];
  devices: {
    count: number;
    backupsPerSecond: number;
    commitP50Ms: number;
    commitP99Ms: number;
    errors: number;
  };
  seconds: number;
}

async function corpus(mb: number, seed: number): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cumulus-bench-'));
  for (let i = 0; i < mb; i++)
    await writeFile(join(dir, `f${i}.bin`), pseudoRandom(1 << 20, seed * 10_000 + i));
  return dir;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

async function timed(run: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await run();
  return (performance.now() - started) / 1000;
}

/**
 * runServerBench backs the same corpus up `runs` times into a fresh local repository and
 * `runs` times into a fresh account, alternating, so that a slow moment of a shared
 * machine does not fall on one side only; then runs the N-device incremental backups.
 */
export async function runServerBench(options: ServerBenchOptions): Promise<ServerBenchResult> {
  const started = performance.now();
  const data = await corpus(options.mb, 1);
  const server = await startTestServer({
    config: { rateLimit: { perMinute: 1_000_000, secretPerMinute: 1_000_000 } },
  });
  const folders: string[] = [];
  const repos: string[] = [];
  try {
    const localMiBs: number[] = [];
    const remoteMiBs: number[] = [];
    let state: DeviceState | undefined;
    for (let run = 0; run < options.runs; run++) {
      const localDir = await mkdtemp(join(tmpdir(), 'cumulus-bench-repo-'));
      repos.push(localDir);
      const local = await initRepository(localDir, PASSWORD, { kdf: TEST_KDF });
      localMiBs.push(options.mb / (await timed(() => backup(local, { paths: [data], host: 'bench' }))));
      await local.repo.close();

      // A new account each run: nothing of the corpus is on the server yet.
      const email = `bench${run}@example.com`;
      await createAccount(server, email, PASSWORD);
      state = (await firstDevice(server, email, PASSWORD, 'device-0')).state;
      const remote = openRemoteVault(state);
      remoteMiBs.push(options.mb / (await timed(() => backup(remote, { paths: [data], host: 'device-0' }))));
      await remote.repo.close();
    }
    if (state === undefined) throw new Error('--runs must be at least 1');
    const devices = await runDevices(server, state, options.devices, folders);
    return {
      mb: options.mb,
      runs: options.runs,
      localMiBs,
      remoteMiBs,
      devices,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    await server.close();
    for (const dir of [data, ...repos, ...folders]) await rm(dir, { recursive: true, force: true });
  }
}

/** runDevices: N devices, each with its own small folder, back up, change one file, and back up again, all at once. */
async function runDevices(
  server: Awaited<ReturnType<typeof startTestServer>>,
  first: DeviceState,
  count: number,
  folders: string[],
): Promise<ServerBenchResult['devices']> {
  const devices: DeviceState[] = [first];
  for (let i = 1; i < count; i++) devices.push(await approvedDevice(server, first, PASSWORD, `device-${i}`));
  folders.push(...(await Promise.all(devices.map((_, i) => corpus(2, 100 + i)))));
  await Promise.all(
    devices.map((d, i) =>
      backup(openRemoteVault(d), { paths: [folders[i]], host: d.deviceName, workers: 1 }),
    ),
  );
  for (const [i, folder] of folders.entries())
    await writeFile(join(folder, 'f0.bin'), pseudoRandom(1 << 20, 5000 + i));
  const latencies: number[] = [];
  let errors = 0;
  const seconds = await timed(() =>
    Promise.all(
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
    ),
  );
  latencies.sort((a, b) => a - b);
  return {
    count,
    backupsPerSecond: count / seconds,
    commitP50Ms: percentile(latencies, 50),
    commitP99Ms: percentile(latencies, 99),
    errors,
  };
}

/** renderServerBench returns the two tables: through the server vs local, and the N devices. */
export function renderServerBench(result: ServerBenchResult, markdown: boolean): string {
  const local = median(result.localMiBs);
  const remote = median(result.remoteMiBs);
  const runs = (values: number[]) => values.map((v) => v.toFixed(0)).join(', ');
  const throughput = renderTable(
    [
      { header: `initial backup, ${result.mb} MiB`, align: 'left' },
      { header: `MiB/s (median of ${result.runs})`, align: 'right' },
      { header: 'runs', align: 'right' },
      { header: 'vs local', align: 'right' },
    ],
    [
      ['local repository', local.toFixed(1), runs(result.localMiBs), '1.00×'],
      [
        'through the server (loopback)',
        remote.toFixed(1),
        runs(result.remoteMiBs),
        `${(remote / local).toFixed(2)}×`,
      ],
    ],
    markdown,
  );
  const d = result.devices;
  const devices = renderTable(
    [
      { header: 'devices at once', align: 'right' },
      { header: 'backups/s', align: 'right' },
      { header: 'changed MiB/s', align: 'right' },
      { header: 'commit p50', align: 'right' },
      { header: 'commit p99', align: 'right' },
      { header: 'errors', align: 'right' },
    ],
    [
      [
        String(d.count),
        d.backupsPerSecond.toFixed(1),
        d.backupsPerSecond.toFixed(1),
        `${d.commitP50Ms.toFixed(1)} ms`,
        `${d.commitP99Ms.toFixed(1)} ms`,
        String(d.errors),
      ],
    ],
    markdown,
  );
  return `${throughput}\n\n${devices}`;
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      mb: { type: 'string', default: '64' },
      devices: { type: 'string', default: '20' },
      runs: { type: 'string', default: '3' },
      markdown: { type: 'boolean', default: false },
    },
  });
  const result = await runServerBench({
    mb: Number(values.mb),
    devices: Number(values.devices),
    runs: Number(values.runs),
  });
  console.log(renderServerBench(result, values.markdown));
  console.log(`\n(${result.seconds.toFixed(0)} s)`);
}
