/** Runs the real `cumulus` command in a child process, as a user would. */
import assert from 'node:assert/strict';
import { type ChildProcess, type SpawnOptions, spawn, spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { compareTrees } from './trees.ts';

export const CLI = resolve(import.meta.dirname, '../../src/cli/main.ts');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** TEST_CACHE holds the index caches of test repositories, never the user's ~/.cache. */
const TEST_CACHE = join(tmpdir(), 'cumulus-test-cache');

/**
 * Test environment: a cheap KDF, a fixed password, no terminal, and index caches in a
 * temporary folder (under the device's config folder when a test gives one).
 */
export function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const cache = extra.CUMULUS_CONFIG_DIR === undefined ? { CUMULUS_CACHE_DIR: TEST_CACHE } : {};
  return { ...process.env, CUMULUS_PASSWORD: 'correct horse', CUMULUS_KDF_COST: '1024', ...cache, ...extra };
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

/**
 * runCumulus runs the command to its end without blocking this process's event loop (so a
 * server started in the test keeps answering), with `input` on its standard input.
 */
export function runCumulus(args: string[], env: Record<string, string> = {}, input = ''): Promise<CliResult> {
  const child = cumulusAsync(args, env, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => (stdout += chunk));
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  child.stdin!.end(input);
  return new Promise((resolve) => child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr })));
}

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  /** Everything the server wrote to its standard output and error: its log. */
  output(): string;
  /** stop ends the server with SIGTERM and waits for it to exit. */
  stop(): Promise<void>;
}

/**
 * startServerProcess creates the admin account `email` (password CUMULUS_PASSWORD of
 * `env`) in the data folder `data` and starts `cumulus server` on a free loopback port.
 */
export async function startServerProcess(
  data: string,
  email: string,
  env: Record<string, string> = {},
  logLevel = 'warn',
): Promise<ServerProcess> {
  const admin = await runCumulus(['server', 'admin', 'create', '--data', data, '--email', email], env);
  if (admin.code !== 0) throw new Error(`cumulus server admin create failed: ${admin.stderr}`);
  return serveDataFolder(data, env, logLevel);
}

/**
 * serveDataFolder starts `cumulus server` on a data folder that has its admin already (a
 * restart: give the old port, which the devices' sign-ins name).
 */
export async function serveDataFolder(
  data: string,
  env: Record<string, string> = {},
  logLevel = 'warn',
  port = 0,
): Promise<ServerProcess> {
  const child = cumulusAsync(
    ['server', '--data', data, '--port', String(port), '--log-level', logLevel],
    env,
  );
  let seen = '';
  child.stderr!.on('data', (chunk) => (seen += chunk));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (chunk) => {
      seen += chunk;
      const match = seen.match(/listening on (http:\/\/\S+)/);
      if (match) resolve(match[1]);
    });
    child.on('exit', () => reject(new Error(`the server exited: ${seen}`)));
  });
  return {
    child,
    url,
    output: () => seen,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.on('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * signInBackUpRestore signs a device in to a server process as `email` (device "laptop"),
 * backs `tree` up, expecting `files` new files, and restores it to `target` identically.
 * `run` runs the CLI as that device.
 */
export async function signInBackUpRestore(
  run: (args: string[]) => Promise<CliResult>,
  options: { url: string; email: string; tree: string; target: string; files: number },
): Promise<void> {
  const login = await run(['login', options.url, '--email', options.email, '--device-name', 'laptop']);
  assert.equal(login.code, 0, login.stderr);
  const backup = await run(['backup', options.tree, '--json']);
  assert.equal(backup.code, 0, backup.stderr);
  assert.equal(JSON.parse(backup.stdout.trim().split('\n').at(-1)!).filesNew, options.files);
  const restore = await run(['restore', 'latest', '--target', options.target]);
  assert.equal(restore.code, 0, restore.stderr);
  assert.deepEqual(compareTrees(options.tree, options.target), []);
}
