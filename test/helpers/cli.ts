/** Runs the real `cumulus` command in a child process, as a user would. */
import { type SpawnOptions, spawn, spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

export const CLI = resolve(import.meta.dirname, '../../src/cli/main.ts');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Test environment: a cheap KDF, a fixed password, no terminal. */
export function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, CUMULUS_PASSWORD: 'correct horse', CUMULUS_KDF_COST: '1024', ...extra };
}

export function cumulus(args: string[], env: Record<string, string> = {}): CliResult {
  const result = spawnSync(process.execPath, [CLI, ...args], {
    env: cliEnv(env),
    encoding: 'utf8',
    input: '',
  });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** cumulusAsync starts the command without waiting (for kill tests). */
export function cumulusAsync(args: string[], env: Record<string, string> = {}, options: SpawnOptions = {}) {
  return spawn(process.execPath, [CLI, ...args], {
    env: cliEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
    ...options,
  });
}
