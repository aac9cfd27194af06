/**
 * `npm run bench -- --scale-out`: many devices back up at once through HAProxy to `cumulus
 * server` processes on default settings, on the embedded layout (SQLite and a folder, one
 * replica: several processes on one SQLite file are not a supported layout) and on
 * PostgreSQL + S3 (s3rver) with one and with three replicas. Runs alternate between the
 * configurations; each run backs up a fresh random tree per device. Besides backups/s, MB/s
 * and commit latency, it records the CPU time of the replicas, PostgreSQL (its whole process
 * tree), s3rver (it runs in this process, which does nothing else meanwhile) and the client
 * processes, to show what bounds the run.
 * Alone: npx node bench/scale-out.ts [--runs 3] [--accounts 40] [--per-account 5] [--markdown]
 */
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { DeviceState } from '../src/client/device-state.ts';
import { parseServerConfig, type ServerConfig } from '../src/server/config.ts';
import { startS3rver } from '../src/store/s3-testing.ts';
import type { FleetDevice, FleetResult } from '../test/e2e/fleet/back-up-devices.ts';
import { runFleet } from '../test/e2e/fleet/run-fleet.ts';
import { type ServerProcess, serveDataFolder } from '../test/helpers/cli.ts';
import { haproxyMissing, startHaproxy } from '../test/helpers/haproxy.ts';
import { findPostgres, NO_POSTGRES, startPostgres } from '../test/helpers/postgres.ts';
import { approvedDevice, createAccount, firstDevice, startTestServer } from '../test/server/helpers.ts';
import { PASSWORD, randomTree } from '../test/server/repository-helpers.ts';
import { renderTable } from './table.ts';

/** Client processes the devices are spread over. */
const FLEET_PROCESSES = 2;
const FILES_PER_TREE = 10;
const FILE_BYTES = 30_000;
const CLOCK_TICKS_PER_SECOND = 100;

export interface ScaleOutOptions {
  runs: number;
  accounts: number;
  perAccount: number;
}

export interface ScaleOutRun {
  seconds: number;
  devices: number;
  errors: number;
  bytesRead: number;
  commitMs: number[];
  cpuSeconds: { replicas: number; postgres: number; s3rver: number; clients: number };
  loadBefore: number;
}

export interface ScaleOutConfiguration {
  name: string;
  replicas: number;
  runs: ScaleOutRun[];
  firstError?: string;
}

export interface ScaleOutResult {
  devices: number;
  treeBytes: number;
  configurations: ScaleOutConfiguration[];
  loadStart: number[];
  loadEnd: number[];
  /** Probe writes s3rver lost to its folder race (see toleratingS3rverRaces). */
  s3rverRaces: number;
}

/** Backend is one layout's shared storage and the devices signed in to it. */
interface Backend {
  data: string;
  env: Record<string, string>;
  devices: DeviceState[];
  /** The PostgreSQL cluster's folder, to find its processes. */
  postgresDir?: string;
}

function statFields(pid: string): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/**
 * treeCpuSeconds is the CPU time of the processes `roots` and all their descendants, the
 * exited ones included (through the waited-for children's times).
 */
function treeCpuSeconds(roots: number[]): number {
  const children = new Map<string, string[]>();
  const ticks = new Map<string, number>();
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    const fields = statFields(pid);
    if (!fields) continue;
    // After the name: state, ppid (1), …, utime (11), stime (12), cutime (13), cstime (14).
    const parent = fields[1];
    children.set(parent, [...(children.get(parent) ?? []), pid]);
    ticks.set(pid, Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]));
  }
  let total = 0;
  const visit = (pid: string) => {
    total += ticks.get(pid) ?? 0;
    for (const child of children.get(pid) ?? []) visit(child);
  };
  for (const root of roots) visit(String(root));
  return total / CLOCK_TICKS_PER_SECOND;
}

function postmasterPid(dir: string): number | undefined {
  try {
    return Number(readFileSync(join(dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return undefined;
  }
}

/** provision makes the accounts and devices through one in-process server, as the scale-out test does. */
async function provision(
  data: string,
  config: Partial<ServerConfig>,
  options: ScaleOutOptions,
): Promise<DeviceState[]> {
  const server = await startTestServer({ dataDir: data, config });
  const states: DeviceState[] = [];
  try {
    for (let a = 0; a < options.accounts; a++) {
      const email = `fleet${a}@example.com`;
      await createAccount(server, email, PASSWORD);
      const first = (await firstDevice(server, email, PASSWORD, `device-${a}-0`)).state;
      states.push(first);
      for (let d = 1; d < options.perAccount; d++)
        states.push(await approvedDevice(server, first, PASSWORD, `device-${a}-${d}`));
    }
  } finally {
    await server.close();
  }
  return states;
}

function cpuNow(replicas: ServerProcess[], fleetCpu: number, backend: Backend) {
  const postgres = backend.postgresDir && postmasterPid(backend.postgresDir);
  const own = process.cpuUsage();
  return {
    replicas: treeCpuSeconds(replicas.map((r) => r.child.pid!)),
    postgres: postgres ? treeCpuSeconds([postgres]) : 0,
    s3rver: backend.postgresDir ? (own.user + own.system) / 1e6 : 0,
    clients: fleetCpu,
  };
}

/** oneRun starts `replicas` servers behind HAProxy and backs every device up once with fresh trees. */
async function oneRun(
  backend: Backend,
  replicas: number,
  seed: number,
  work: string,
): Promise<ScaleOutRun & { firstError?: string }> {
  const trees = await Promise.all(
    backend.devices.map((_, i) => randomTree(FILES_PER_TREE, FILE_BYTES, seed * 10_000 + i)),
  );
  const servers: ServerProcess[] = [];
  let balancer: Awaited<ReturnType<typeof startHaproxy>> | undefined;
  try {
    for (let r = 0; r < replicas; r++) servers.push(await serveDataFolder(backend.data, backend.env));
    balancer = await startHaproxy(
      work,
      servers.map((s) => Number(new URL(s.url).port)),
    );
    const url = balancer.url;
    const devices: FleetDevice[] = backend.devices.map((state, i) => ({
      state: { ...state, serverUrl: url },
      tree: trees[i],
    }));
    const shares = Array.from({ length: FLEET_PROCESSES }, (_, p) =>
      devices.filter((_, j) => j % FLEET_PROCESSES === p),
    );
    const loadBefore = loadavg()[0];
    const before = cpuNow(servers, 0, backend);
    const started = performance.now();
    const fleets = await Promise.all(
      shares.map((share, p) =>
        runFleet(share, join(work, `fleet-${p}.json`), join(work, `cache-${seed}-${p}`)),
      ),
    );
    const seconds = (performance.now() - started) / 1000;
    const after = cpuNow(
      servers,
      fleets.reduce((sum, f) => sum + f.cpuMs / 1000, 0),
      backend,
    );
    const results: FleetResult[] = fleets.flatMap((f) => f.results);
    const ok = results.filter((r) => r.ok);
    return {
      seconds,
      devices: results.length,
      errors: results.length - ok.length,
      firstError: results.find((r) => !r.ok)?.error,
      bytesRead: ok.reduce((sum, r) => sum + (r.bytesRead ?? 0), 0),
      commitMs: ok.map((r) => r.commitMs ?? 0),
      cpuSeconds: {
        replicas: after.replicas - before.replicas,
        postgres: after.postgres - before.postgres,
        s3rver: after.s3rver - before.s3rver,
        clients: after.clients,
      },
      loadBefore,
    };
  } finally {
    await balancer?.stop();
    for (const server of servers) await server.stop();
    await Promise.all(trees.map((tree) => rm(tree, { recursive: true, force: true })));
  }
}

/**
 * s3rver keeps objects as files and removes a folder once empty: a replica's readiness
 * probe deleting its object under `probe/` can remove the folder while another replica's
 * probe is writing there, and the write stream's ENOENT is thrown unhandled. Such an error
 * is counted and reported instead of ending the benchmark (that probe times out).
 */
function toleratingS3rverRaces(): { count(): number; stop(): void } {
  let races = 0;
  const handler = (error: Error & { code?: string; path?: string }) => {
    if (error.code === 'ENOENT' && String(error.path).endsWith('._S3rver_object')) races++;
    else throw error;
  };
  process.on('uncaughtException', handler);
  return { count: () => races, stop: () => process.off('uncaughtException', handler) };
}

export function scaleOutMissing(): string | false {
  return haproxyMissing() || (findPostgres() === undefined && NO_POSTGRES);
}

export async function runScaleOut(options: ScaleOutOptions): Promise<ScaleOutResult> {
  const missing = scaleOutMissing();
  if (missing) throw new Error(`--scale-out: ${missing}`);
  const loadStart = loadavg();
  const work = await mkdtemp(join(tmpdir(), 'cumulus-bench-scale-out-'));
  const postgres = await startPostgres();
  const s3 = await startS3rver();
  const races = toleratingS3rverRaces();
  try {
    const embeddedData = join(work, 'embedded');
    const sharedData = join(work, 'shared');
    const databaseUrl = await postgres.database();
    const env = {
      ...s3.env,
      CUMULUS_DATABASE_URL: databaseUrl,
      CUMULUS_BLOB_STORE: `s3://${s3.bucket}/bench`,
    };
    const shared = parseServerConfig({ data: sharedData, port: '0' }, env);
    console.error(`scale-out: provisioning ${options.accounts * options.perAccount} devices on each layout`);
    const embedded: Backend = {
      data: embeddedData,
      env: {},
      devices: await provision(embeddedData, {}, options),
    };
    const distributed: Backend = {
      data: sharedData,
      env,
      devices: await provision(
        sharedData,
        { databaseUrl: shared.databaseUrl, blobStore: shared.blobStore },
        options,
      ),
      postgresDir: new URL(databaseUrl).searchParams.get('host') ?? undefined,
    };
    const configurations: (ScaleOutConfiguration & { backend: Backend })[] = [
      { name: 'embedded (SQLite + folder)', replicas: 1, runs: [], backend: embedded },
      { name: 'PostgreSQL + S3 (s3rver)', replicas: 1, runs: [], backend: distributed },
      { name: 'PostgreSQL + S3 (s3rver)', replicas: 3, runs: [], backend: distributed },
    ];
    let seed = 1;
    for (let run = 0; run < options.runs; run++) {
      for (const configuration of configurations) {
        const { firstError, ...result } = await oneRun(
          configuration.backend,
          configuration.replicas,
          seed++,
          work,
        );
        configuration.runs.push(result);
        configuration.firstError ??= firstError;
        console.error(
          `scale-out run ${run + 1}, ${configuration.name} × ${configuration.replicas}: ${(result.devices / result.seconds).toFixed(1)} backups/s, ${result.errors} errors, load ${result.loadBefore.toFixed(1)}${firstError ? `; first error: ${firstError}` : ''}`,
        );
      }
    }
    return {
      devices: options.accounts * options.perAccount,
      treeBytes: FILES_PER_TREE * FILE_BYTES,
      configurations: configurations.map(({ backend: _, ...configuration }) => configuration),
      loadStart,
      loadEnd: loadavg(),
      s3rverRaces: races.count(),
    };
  } finally {
    races.stop();
    await s3.close();
    await postgres.stop();
    await rm(work, { recursive: true, force: true });
  }
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

/** spread is "min / median / max" of one number per run. */
function spread(values: number[], digits: number): string {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  return [sorted[0], median, sorted.at(-1)!].map((v) => v.toFixed(digits)).join(' / ');
}

function median(values: number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
}

export function renderScaleOut(result: ScaleOutResult, markdown: boolean): string {
  const rows = result.configurations.map((c) => {
    const cpu = (key: keyof ScaleOutRun['cpuSeconds']) =>
      median(c.runs.map((r) => r.cpuSeconds[key] / r.seconds)).toFixed(2);
    return [
      c.name,
      String(c.replicas),
      spread(
        c.runs.map((r) => r.devices / r.seconds),
        1,
      ),
      spread(
        c.runs.map((r) => r.bytesRead / 1e6 / r.seconds),
        1,
      ),
      spread(
        c.runs.map((r) => percentile(r.commitMs, 50)),
        0,
      ),
      spread(
        c.runs.map((r) => percentile(r.commitMs, 99)),
        0,
      ),
      String(c.runs.reduce((sum, r) => sum + r.errors, 0)),
      `${cpu('replicas')} / ${cpu('postgres')} / ${cpu('s3rver')} / ${cpu('clients')}`,
      c.runs.map((r) => r.loadBefore.toFixed(1)).join(', '),
    ];
  });
  const errors = result.configurations
    .filter((c) => c.firstError)
    .map((c) => `- ${c.name} × ${c.replicas}: ${c.firstError}`);
  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');
  return [
    renderTable(
      [
        { header: 'layout', align: 'left' },
        { header: 'replicas', align: 'right' },
        { header: 'backups/s', align: 'right' },
        { header: 'MB/s', align: 'right' },
        { header: 'commit p50 ms', align: 'right' },
        { header: 'commit p99 ms', align: 'right' },
        { header: 'errors', align: 'right' },
        { header: 'CPU cores: replicas / PostgreSQL / s3rver / clients', align: 'right' },
        { header: 'load at start of each run', align: 'left' },
      ],
      rows,
      markdown,
    ),
    '',
    `${result.devices} devices (${result.treeBytes / 1000} KB of random files each, a fresh tree every run) back up at once from ${FLEET_PROCESSES} client processes through HAProxy; min / median / max of ${result.configurations[0]?.runs.length ?? 0} runs, alternating. ` +
      'MB/s = bytes the backups read ÷ wall time; commit = the snapshot commit request of each device (p50/p99 over the devices of a run); CPU cores = CPU seconds ÷ wall seconds (median of the runs). ' +
      `Load average at start ${load(result.loadStart)}, at end ${load(result.loadEnd)}.`,
    ...(result.s3rverRaces > 0
      ? [
          '',
          `s3rver lost ${result.s3rverRaces} readiness-probe write(s) to its folder race (a probe deleting the last object of \`probe/\` removes the folder while another replica writes there); each such probe timed out.`,
        ]
      : []),
    ...(errors.length > 0 ? ['', 'First error of each configuration:', ...errors] : []),
  ].join('\n');
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '3' },
      accounts: { type: 'string', default: '40' },
      'per-account': { type: 'string', default: '5' },
      markdown: { type: 'boolean', default: false },
    },
  });
  const result = await runScaleOut({
    runs: Number(values.runs),
    accounts: Number(values.accounts),
    perAccount: Number(values['per-account']),
  });
  console.log(renderScaleOut(result, values.markdown));
  if (result.configurations.some((c) => c.runs.some((r) => r.errors > 0))) process.exitCode = 1;
}
