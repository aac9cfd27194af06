/**
 * runFleet backs a share of the devices up in a child process (back-up-devices.ts) and
 * collects its results and its CPU time: for the scale-out test and benchmark.
 */
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { cliEnv } from '../../helpers/cli.ts';
import type { FleetDevice, FleetResult } from './back-up-devices.ts';

const FLEET = resolve(import.meta.dirname, 'back-up-devices.ts');

export interface FleetRun {
  results: FleetResult[];
  /** The process's user + system CPU time. */
  cpuMs: number;
}

/** runFleet writes the devices to `file` and backs them up at once in one process (index caches under `cache`). */
export async function runFleet(devices: FleetDevice[], file: string, cache: string): Promise<FleetRun> {
  await writeFile(file, JSON.stringify(devices));
  const child = spawn(process.execPath, [FLEET, file], {
    env: cliEnv({ CUMULUS_CACHE_DIR: cache }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve, reject) =>
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`a fleet process exited with ${code}: ${stderr}`));
      const cpu = stderr.trim().split('\n').at(-1) ?? '';
      resolve({
        results: stdout
          .trim()
          .split('\n')
          .map((line) => JSON.parse(line) as FleetResult),
        cpuMs: (JSON.parse(cpu) as { cpuMs: number }).cpuMs,
      });
    }),
  );
}
