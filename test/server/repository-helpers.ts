/**
 * Helpers for repository API tests: signed-in devices with their vaults over real HTTP,
 * small trees of pseudo-random files, and plan quotas set the way an admin sets them.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backup } from '../../src/client/archiver/archiver.ts';
import type { DeviceState } from '../../src/client/device-state.ts';
import { openRemoteVault } from '../../src/client/remote-vault.ts';
import type { UnlockedRepository } from '../../src/client/unlocked-repository.ts';
import { PackBuilder } from '../../src/core/pack.ts';
import { type AccountStore, accountStoreOf } from '../../src/server/services/account-repositories.ts';
import { LOCAL_ADMIN } from '../../src/server/services/caller.ts';
import { pseudoRandom, writeTree } from '../helpers/trees.ts';
import { approvedDevice, createAccount, firstDevice, request, type TestServer } from './helpers.ts';

export const PASSWORD = 'repository test password';
/** FAST_RETRY keeps retries short in tests that do not restart the server. */
export const FAST_RETRY = { attempts: 3, baseDelayMs: 20, maxDelayMs: 100 };

export interface TestDevice {
  state: DeviceState;
  vault: UnlockedRepository;
}

export function vaultOf(state: DeviceState, retry = FAST_RETRY): UnlockedRepository {
  return openRemoteVault(state, { retry });
}

/** newAccount creates an account and signs in its first device. */
export async function newAccount(server: TestServer, email: string, name = 'laptop'): Promise<TestDevice> {
  await createAccount(server, email, PASSWORD);
  const { state } = await firstDevice(server, email, PASSWORD, name);
  return { state, vault: vaultOf(state) };
}

/** secondDevice signs another device of the same account in, approved by `trusted`. */
export async function secondDevice(
  server: TestServer,
  trusted: DeviceState,
  name: string,
): Promise<TestDevice> {
  const state = await approvedDevice(server, trusted, PASSWORD, name);
  return { state, vault: vaultOf(state) };
}

/** randomTree writes `files` files of `size` pseudo-random bytes (seeded) under a new folder. */
export async function randomTree(files: number, size: number, seed: number): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'cumulus-tree-'));
  const children: Record<string, { type: 'file'; data: Uint8Array }> = {};
  for (let i = 0; i < files; i++)
    children[`file-${i}.bin`] = { type: 'file', data: pseudoRandom(size, seed * 1000 + i) };
  writeTree(root, children);
  return root;
}

/** backUp backs paths up as the device (its name is the host, as the CLI does). */
export function backUp(device: TestDevice, paths: string[]) {
  return backup(device.vault, { paths, host: device.state.deviceName, workers: 1 });
}

/** setQuota gives the account a plan of exactly `bytes`, as an admin would. */
export async function setQuota(server: TestServer, accountId: string, bytes: number): Promise<void> {
  const id = `q${bytes}`.slice(0, 32);
  await server.services.plans.put(LOCAL_ADMIN, id, { name: id, quotaBytes: bytes, offered: false });
  await server.services.plans.assign(LOCAL_ADMIN, accountId, id);
}

export function storeOf(server: TestServer, accountId: string): Promise<AccountStore> {
  return accountStoreOf(server.services.repositories, accountId);
}

/** onePack builds a pack of one data blob of `size` random bytes (sealed bytes are opaque to the server). */
export function onePack(size: number) {
  const builder = new PackBuilder();
  const id = randomBytes(32).toString('hex');
  builder.add('data', id, randomBytes(size));
  return { ...builder.finish(), blobId: id };
}

/** uploadPack sends a pack as raw HTTP with the device's token, and returns the answer whatever it is. */
export function uploadPack(server: TestServer, device: TestDevice, pack: { id: string; bytes: Uint8Array }) {
  return request(server.url, 'PUT', `/api/repo/packs/${pack.id}`, {
    token: device.state.token,
    body: pack.bytes as unknown as string,
    headers: { 'content-type': 'application/octet-stream' },
  });
}
