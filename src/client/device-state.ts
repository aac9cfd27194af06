/**
 * Device state: what a signed-in device keeps between runs — the server, the account, this
 * device's session token and the unwrapped account key — in `device.json` under the
 * config folder, readable by its owner only. `cumulus login` writes it, `cumulus logout`
 * erases it, the agent and the backup commands read it.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { CumulusError } from '../core/errors.ts';
import type { RepositoryConfig } from './repository.ts';

export interface DeviceState {
  version: 1;
  serverUrl: string;
  email: string;
  accountId: string;
  deviceId: string;
  deviceName: string;
  /** The session's bearer token. */
  token: string;
  /** The account (repository master) key, base64. */
  accountKey: string;
  repositoryConfig: RepositoryConfig;
}

const FILE = 'device.json';

/**
 * configDir is the device's config folder: `CUMULUS_CONFIG_DIR` when set (several
 * "devices" can then share one machine), else `$XDG_CONFIG_HOME/cumulus`, else
 * `~/.config/cumulus` — or `~/Library/Application Support/Cumulus` on macOS, as the agent does.
 */
export function configDir(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
): string {
  if (env.CUMULUS_CONFIG_DIR) return env.CUMULUS_CONFIG_DIR;
  const home = env.HOME || homedir();
  if (platform === 'darwin') return join(home, 'Library', 'Application Support', 'Cumulus');
  return join(env.XDG_CONFIG_HOME || join(home, '.config'), 'cumulus');
}

export function deviceStatePath(dir: string = configDir()): string {
  return join(dir, FILE);
}

function damaged(path: string, reason: string): CumulusError {
  return new CumulusError('corrupt', `the sign-in state ${path} is damaged: ${reason}`, {
    hint: 'sign in again with `cumulus login URL` (your backups are safe on the server)',
  });
}

function isDeviceState(value: unknown): value is DeviceState {
  const state = value as Partial<DeviceState> | null;
  return (
    typeof state === 'object' &&
    state !== null &&
    state.version === 1 &&
    ['serverUrl', 'email', 'accountId', 'deviceId', 'deviceName', 'token', 'accountKey'].every(
      (field) => typeof state[field as keyof DeviceState] === 'string',
    ) &&
    Buffer.from(state.accountKey!, 'base64').length === 32 &&
    typeof state.repositoryConfig === 'object' &&
    state.repositoryConfig !== null
  );
}

/** loadDeviceState returns the saved state, or undefined when this device is not signed in. */
export async function loadDeviceState(dir: string = configDir()): Promise<DeviceState | undefined> {
  const path = deviceStatePath(dir);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw damaged(path, 'it is not valid JSON');
  }
  if (!isDeviceState(value)) throw damaged(path, 'fields are missing or wrong');
  return value;
}

/** requireDeviceState is loadDeviceState for commands that need a signed-in device. */
export async function requireDeviceState(dir: string = configDir()): Promise<DeviceState> {
  const state = await loadDeviceState(dir);
  if (!state) {
    throw new CumulusError('unauthorized', 'this device is not signed in', {
      hint: 'sign in with `cumulus login URL --email EMAIL`',
    });
  }
  return state;
}

/**
 * saveDeviceState writes the state atomically (temporary file, fsync, rename, folder
 * fsync) with mode 0600 in a 0700 folder: a crash leaves the old state or the new one.
 */
export async function saveDeviceState(state: DeviceState, dir: string = configDir()): Promise<void> {
  const path = deviceStatePath(dir);
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const file = await open(temporary, 'wx', 0o600);
  try {
    await file.writeFile(`${JSON.stringify(state, null, 2)}\n`);
    await file.sync();
  } finally {
    await file.close();
  }
  try {
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  const folder = await open(dirname(path), 'r');
  try {
    await folder.sync();
  } finally {
    await folder.close();
  }
}

/** clearDeviceState erases the state: the token and the account key leave this device. */
export async function clearDeviceState(dir: string = configDir()): Promise<void> {
  await rm(deviceStatePath(dir), { force: true });
}
