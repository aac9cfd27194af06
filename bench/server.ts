/**
 * Through the server. `serverTool` is Cumulus as a user runs it against a server: a real
 * `cumulus server` process on loopback with its default settings, an account invited with
 * `cumulus server user add`, this device signed in with `cumulus login --invite`, then
 * `cumulus backup SRC` / `cumulus restore latest`; the phases measure it beside the local tools, and
 * the server process's CPU time and peak RSS during each command come with the client's.
 * `runDevices` is N devices of one account doing incremental backups at once (throughput,
 * p50/p99 commit latency, errors), against an in-process test server.
 * Alone: npx node bench/server.ts [--devices 20]
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  closeSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { backup } from '../src/client/archiver/archiver.ts';
import type { DeviceState } from '../src/client/device-state.ts';
import { openRemoteVault } from '../src/client/remote-vault.ts';
import { pseudoRandom } from '../test/helpers/trees.ts';
import { approvedDevice, createAccount, firstDevice, startTestServer } from '../test/server/helpers.ts';
import { SERVER_TOOL } from './report.ts';
import { renderTable } from './table.ts';
import {
  cumulusBin,
  cumulusMissing,
  describeCumulus,
  type Measurement,
  measure,
  PASSWORD,
  type Tool,
  toolDirs,
  toolEnv,
} from './tools.ts';
import { treeStats } from './tree.ts';

const EMAIL = 'bench@example.com';
/** TICKS is USER_HZ, the unit of CPU times in /proc/PID/stat (100 on Linux). */
const TICKS = 100;

/** cpuSeconds reads user + system time of a live process from /proc. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS;
}

/** peakRss reads a live process's peak resident set (VmHWM) from /proc. */
function peakRss(pid: number): number {
  const match = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) * 1024 : 0;
}

/** resetPeakRss makes VmHWM start again from the current RSS, so each command gets its own peak. */
function resetPeakRss(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
}

class ServerTool implements Tool {
  readonly name = SERVER_TOOL;
  readonly settings =
    'a `cumulus server` process on 127.0.0.1, default settings (rate limits, log level); account invited by `cumulus server user add`, device signed in by `cumulus login --invite`; `cumulus backup SRC`, `cumulus restore latest`; repo size = the server data folder';
  #dirs = toolDirs('cumulus-server');
  #serverLog = this.#dirs.logFile.replace(/\.log$/, '.server.log');
  #server: ChildProcess | undefined;
  #url = '';

  missing(): string | undefined {
    if (!existsSync('/proc/self/clear_refs')) return 'needs Linux /proc to measure the server process';
    return cumulusMissing(['server', 'login', 'backup', 'restore']);
  }

  version(): string {
    const printed = spawnSync(process.execPath, [cumulusBin, '--version'], { encoding: 'utf8' });
    return describeCumulus(printed.stdout.trim());
  }

  async clean(): Promise<void> {
    await this.dropRepository();
    rmSync(this.#dirs.logFile, { force: true });
    rmSync(`${this.#dirs.logFile}.time`, { force: true });
    rmSync(this.#serverLog, { force: true });
  }

  async dropRepository(): Promise<void> {
    await this.close();
    rmSync(this.#dirs.repo, { recursive: true, force: true });
    rmSync(this.#dirs.home, { recursive: true, force: true });
  }

  async close(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (server && server.exitCode === null && server.signalCode === null) {
      const exited = new Promise((resolve) => server.once('exit', resolve));
      server.kill('SIGTERM');
      const timer = setTimeout(() => server.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
  }

  #env(): NodeJS.ProcessEnv {
    return toolEnv(this.#dirs.home, { CUMULUS_PASSWORD: PASSWORD });
  }

  #cumulus(args: string[]): Promise<Measurement> {
    mkdirSync(this.#dirs.home, { recursive: true });
    return measure([process.execPath, cumulusBin, ...args], {
      env: this.#env(),
      logFile: this.#dirs.logFile,
    });
  }

  /** output runs a setup command (not measured), logs its output and returns its standard output. */
  async #output(args: string[]): Promise<string> {
    const child = spawn(process.execPath, [cumulusBin, ...args], { env: this.#env(), stdio: 'pipe' });
    child.stdin.end();
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const code = await new Promise((resolve) => child.on('close', resolve));
    writeFileSync(this.#dirs.logFile, `\n$ cumulus ${args.join(' ')}\n${stdout}${stderr}`, { flag: 'a' });
    if (code !== 0) throw new Error(`cumulus ${args.slice(0, 3).join(' ')} … exited with ${code}: ${stderr}`);
    return stdout;
  }

  /**
   * init makes a fresh data folder, starts the server on it, invites the account and signs
   * this device in with the invite (the user's own password).
   */
  async init(): Promise<Measurement> {
    await this.dropRepository();
    mkdirSync(this.#dirs.repo, { recursive: true });
    mkdirSync(this.#dirs.home, { recursive: true });
    mkdirSync(join(this.#dirs.logFile, '..'), { recursive: true });
    const data = this.#dirs.repo;
    // The server's request log has a file of its own, so a failing command's log ends with its own error.
    const log = openSync(this.#serverLog, 'a');
    const server = spawn(process.execPath, [cumulusBin, 'server', '--data', data, '--port', '0'], {
      env: this.#env(),
      stdio: ['ignore', 'pipe', log],
    });
    closeSync(log);
    this.#server = server;
    this.#url = await new Promise<string>((resolve, reject) => {
      let seen = '';
      server.stdout!.on('data', (chunk) => {
        seen += chunk;
        const match = /listening on (http:\/\/\S+)/.exec(seen);
        if (match) resolve(match[1]);
      });
      server.once('exit', (code) => reject(new Error(`cumulus server exited with ${code}: ${seen}`)));
    });
    server.stdout!.removeAllListeners('data');
    server.stdout!.pipe(createWriteStream(this.#serverLog, { flags: 'a' }));
    const invite = await this.#output([
      'server',
      'user',
      'add',
      '--data',
      data,
      '--email',
      EMAIL,
      '--url',
      this.#url,
    ]);
    const token = /--invite (\S+)/.exec(invite)?.[1];
    if (!token) throw new Error(`cumulus server user add printed no invite: ${invite}`);
    return this.#cumulus(['login', this.#url, '--email', EMAIL, '--invite', token, '--device-name', 'bench']);
  }

  async #measured(args: string[]): Promise<Measurement> {
    const pid = this.#server?.pid;
    if (pid === undefined || this.#server?.exitCode !== null) throw new Error('the server is not running');
    resetPeakRss(pid);
    const before = cpuSeconds(pid);
    const measurement = await this.#cumulus(args);
    return { ...measurement, server: { cpuSeconds: cpuSeconds(pid) - before, peakRssBytes: peakRss(pid) } };
  }

  backup(source: string): Promise<Measurement> {
    return this.#measured(['backup', source]);
  }

  restore(target: string): Promise<Measurement> {
    mkdirSync(target, { recursive: true });
    return this.#measured(['restore', 'latest', '--target', target]);
  }

  repoBytes(): number {
    return treeStats(this.#dirs.repo).bytes;
  }

  cacheBytes(): number {
    return existsSync(this.#dirs.home) ? treeStats(this.#dirs.home).bytes : 0;
  }
}

/** serverTool returns Cumulus through a real server process (see ServerTool). */
export function serverTool(): Tool {
  return new ServerTool();
}

export interface DevicesResult {
  count: number;
  backupsPerSecond: number;
  commitP50Ms: number;
  commitP99Ms: number;
  errors: number;
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

async function timed(run: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await run();
  return (performance.now() - started) / 1000;
}

/**
 * runDevices: N devices of one account, each with its own folder of 2 MiB, back up, change
 * one file, and back up again, all at once; the second round is measured.
 */
export async function runDevices(count: number): Promise<DevicesResult> {
  const started = performance.now();
  const server = await startTestServer();
  const folders: string[] = [];
  try {
    await createAccount(server, EMAIL, PASSWORD);
    const first = (await firstDevice(server, EMAIL, PASSWORD, 'device-0')).state;
    const devices: DeviceState[] = [first];
    for (let i = 1; i < count; i++)
      devices.push(await approvedDevice(server, first, PASSWORD, `device-${i}`));
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
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    await server.close();
    for (const dir of folders) await rm(dir, { recursive: true, force: true });
  }
}

/** renderDevices returns the table of the N-device run. */
export function renderDevices(d: DevicesResult, markdown: boolean): string {
  return renderTable(
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
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: { devices: { type: 'string', default: '20' }, markdown: { type: 'boolean', default: false } },
  });
  const result = await runDevices(Number(values.devices));
  console.log(renderDevices(result, values.markdown));
  console.log(`\n(${result.seconds.toFixed(0)} s)`);
}
