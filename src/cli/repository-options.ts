/**
 * Options shared by the commands that act on a repository — a local folder (`--repo DIR`)
 * or, without one, the signed-in account's repository on its server — and the one place
 * that unlocks it.
 */
import type { Command } from 'commander';
import { KDF_FLOOR_N } from '../api/common.ts';
import { configDir, type DeviceState, loadDeviceState } from '../client/device-state.ts';
import { cacheDir } from '../client/index-cache.ts';
import { openRepository } from '../client/local-keyring.ts';
import { LocalRepository } from '../client/local-repository.ts';
import { UnlockedRepository } from '../client/unlocked-repository.ts';
import { CumulusError } from '../core/errors.ts';
import type { KdfParams } from '../core/keys.ts';
import { DEFAULT_KDF } from '../core/keys.ts';
import { readPassword } from './password.ts';

export interface RepositoryOptions {
  repo?: string;
  passwordFile?: string;
  json?: boolean;
}

export function withRepositoryOptions(command: Command): Command {
  return command
    .option('-r, --repo <dir>', 'repository folder (or CUMULUS_REPOSITORY; default: the signed-in account)')
    .option('--password-file <file>', 'read the password from a file (else CUMULUS_PASSWORD, else a prompt)');
}

export function repositoryPath(options: RepositoryOptions): string {
  const repo = options.repo ?? process.env.CUMULUS_REPOSITORY;
  if (repo === undefined || repo === '') {
    throw new CumulusError('usage', 'no repository given', {
      hint: 'pass --repo DIR or set CUMULUS_REPOSITORY, or sign in to a server with `cumulus login URL`',
    });
  }
  return repo;
}

/** RepositoryTarget says where a command acts: `device` is set when it is the signed-in account's repository. */
export interface RepositoryTarget {
  device?: DeviceState;
}

/**
 * withRepository unlocks the repository, runs `action`, and always closes it: the folder
 * of --repo (or CUMULUS_REPOSITORY); without one, the account's repository of the
 * signed-in device (its state holds the key: no password asked). With `indexCache`, the
 * device's cache of the repository's index sits in front of it (a backup's questions).
 */
export async function withRepository<T>(
  options: RepositoryOptions,
  action: (vault: UnlockedRepository, target: RepositoryTarget) => Promise<T>,
  use: { indexCache?: boolean } = {},
): Promise<T> {
  const local = options.repo ?? process.env.CUMULUS_REPOSITORY;
  const device = local === undefined || local === '' ? await loadDeviceState(configDir()) : undefined;
  // The server client and its schemas load only for the account: a folder does not need them.
  const opened = device
    ? (await import('../client/remote-vault.ts')).openRemoteVault(device)
    : await openRepository(repositoryPath(options), await readPassword(options));
  const vault = use.indexCache
    ? (await import('../client/cached-repository.ts')).withIndexCache(opened, cacheDir())
    : opened;
  try {
    return await action(vault, { device });
  } finally {
    await vault.repo.close();
  }
}

/**
 * folderVault narrows a vault to a repository folder, for the keyless upkeep a client
 * runs itself (`what`: prune, check, repair). An account's repository has none of it:
 * its server collects garbage and checks packs → 'usage', before anything is changed.
 */
export function folderVault(vault: UnlockedRepository, what: string): UnlockedRepository<LocalRepository> {
  if (vault.repo instanceof LocalRepository)
    return new UnlockedRepository(vault.repo, vault.keys, vault.config);
  throw new CumulusError('usage', `${what} runs on the server for an account's repository`, {
    hint: 'the server collects garbage and checks packs itself; use `cumulus storage` to free space, or --repo DIR for a folder',
  });
}

/**
 * kdfFromEnvironment returns the scrypt cost for new keys: the default unless
 * CUMULUS_KDF_COST is set (only tests and benchmarks lower it).
 */
/**
 * kdfFloor is the least scrypt cost this device accepts from a server when it stretches a
 * password: KDF_FLOOR_N, or a test's lower CUMULUS_KDF_COST.
 */
export function kdfFloor(): number {
  return Math.min(KDF_FLOOR_N, kdfFromEnvironment().N);
}

export function kdfFromEnvironment(): KdfParams {
  const cost = process.env.CUMULUS_KDF_COST;
  if (cost === undefined || cost === '') return DEFAULT_KDF;
  const N = Number(cost);
  if (!Number.isInteger(N) || N < 2 || (N & (N - 1)) !== 0) {
    throw new CumulusError('usage', 'CUMULUS_KDF_COST must be a power of two');
  }
  return { ...DEFAULT_KDF, N };
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
