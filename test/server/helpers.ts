/**
 * Test helpers for the server: a real server on a loopback port over a temporary data
 * folder, with a fake clock, cheap hashing, and accounts and signed-in devices made
 * through the real HTTP API.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DeviceInfo } from '../../src/api/auth.ts';
import * as auth from '../../src/api/auth.ts';
import { AccountClient } from '../../src/client/account-client.ts';
import { derivePasswordKeys, newKdfParams } from '../../src/client/account-keys.ts';
import type { DeviceState } from '../../src/client/device-state.ts';
import { type PendingSignIn, type SignInResult, signIn } from '../../src/client/sign-in.ts';
import { CumulusError } from '../../src/core/errors.ts';
import { type KdfParams, TEST_KDF } from '../../src/core/keys.ts';
import type { Clock } from '../../src/server/clock.ts';
import { DEFAULTS, parseServerConfig, type ServerConfig } from '../../src/server/config.ts';
import { LOCAL_ADMIN } from '../../src/server/services/caller.ts';
import { type RunningServer, type StartOptions, startServer } from '../../src/server/start.ts';

/** FakeClock starts at the real time and moves only when told. */
export class FakeClock implements Clock {
  #now = Date.now();
  now(): number {
    return this.#now;
  }
  advance(ms: number): void {
    this.#now += ms;
  }
}

export interface TestServer extends RunningServer {
  clock: FakeClock;
  dataDir: string;
  /** Log lines the server wrote. */
  log: string[];
}

export const CHEAP_HASH = { N: 1024, r: 8, p: 1 };

export async function startTestServer(
  options: StartOptions & { config?: Partial<ServerConfig>; dataDir?: string } = {},
): Promise<TestServer> {
  const { config: overrides, dataDir: givenDir, ...startOptions } = options;
  const dataDir = givenDir ?? (await mkdtemp(join(tmpdir(), 'cumulus-server-')));
  const clock = new FakeClock();
  const log: string[] = [];
  const config: ServerConfig = {
    ...parseServerConfig({ data: dataDir, port: '0' }, {}),
    logLevel: 'info',
    // Tests sign many devices in from one address: only the secret routes' limit is lifted
    // (abuse.test.ts tests it); the limits of everything else are the defaults.
    rateLimit: { ...DEFAULTS.rateLimit, secretPerMinute: 100_000 },
    ...overrides,
  };
  const server = await startServer(config, {
    clock,
    authHashCost: CHEAP_HASH,
    statusCacheMs: 0,
    logStream: { write: (line) => void log.push(line) },
    ...startOptions,
  });
  return {
    ...server,
    clock,
    dataDir,
    log,
    close: async () => {
      await server.close();
      if (!givenDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * createAccount makes an account the way the admin CLI does: the password is stretched here,
 * never sent; cheaply unless kdfCost says otherwise (a browser refuses less than KDF_FLOOR_N).
 */
export async function createAccount(
  server: TestServer,
  email: string,
  password: string,
  options: { role?: 'user' | 'admin'; planId?: string; kdfCost?: KdfParams } = {},
): Promise<string> {
  const { kdfCost = TEST_KDF, ...rest } = options;
  const kdf = newKdfParams(kdfCost);
  const { authKey } = await derivePasswordKeys(password, kdf);
  return (await server.services.accounts.create(LOCAL_ADMIN, { email, kdf, authKey, ...rest })).id;
}

export function device(name: string): DeviceInfo {
  return { name, platform: 'linux-x64', agentVersion: '1.0.0' };
}

export function clientOf(state: DeviceState): AccountClient {
  return new AccountClient({ serverUrl: state.serverUrl, token: state.token });
}

/** firstDevice signs in an account's first device, which creates the keys and gets the recovery key. */
export async function firstDevice(
  server: TestServer,
  email: string,
  password: string,
  name = 'laptop',
): Promise<Required<SignInResult>> {
  const result = await signIn({ serverUrl: server.url, email, password, device: device(name) });
  assert.ok('state' in result, 'the first device signs in with the password alone');
  assert.ok(result.recoveryKey, 'the first device receives the recovery key');
  return result as Required<SignInResult>;
}

/** pendingSignIn starts a new device's sign-in and expects it to need approval. */
export async function pendingSignIn(
  server: TestServer,
  email: string,
  password: string,
  name: string,
): Promise<PendingSignIn> {
  const result = await signIn({ serverUrl: server.url, email, password, device: device(name) });
  assert.ok(!('state' in result), 'a new device needs approval');
  return result;
}

/** codeFor reads the code a trusted device sees for the pending sign-in of a device name. */
export async function codeFor(trusted: DeviceState, deviceName: string): Promise<string> {
  const { approvals } = await clientOf(trusted).call(auth.listApprovals, {});
  const approval = approvals.find((a) => a.deviceName === deviceName);
  assert.ok(approval, `a pending sign-in for ${deviceName} is listed`);
  return approval.code;
}

/** approvedDevice signs a new device in with the code its trusted device shows. */
export async function approvedDevice(
  server: TestServer,
  trusted: DeviceState,
  password: string,
  name: string,
): Promise<DeviceState> {
  const pending = await pendingSignIn(server, trusted.email, password, name);
  return (await pending.complete({ method: 'code', code: await codeFor(trusted, name) })).state;
}

/**
 * ownerAndStranger signs in what most device tests need: two devices of one account
 * (`laptop`, then `phone` approved by it) and a device of another account, `stranger`.
 */
export async function ownerAndStranger(
  server: TestServer,
  password: string,
): Promise<{ laptop: DeviceState; phone: DeviceState; stranger: DeviceState }> {
  await createAccount(server, 'ann@example.com', password);
  const laptop = (await firstDevice(server, 'ann@example.com', password)).state;
  const phone = await approvedDevice(server, laptop, password, 'phone');
  await createAccount(server, 'bob@example.com', password);
  const stranger = (await firstDevice(server, 'bob@example.com', password, 'bob laptop')).state;
  return { laptop, phone, stranger };
}

/** Json is a parsed response body in raw-HTTP tests, where the point is to send what the schemas forbid. */
// biome-ignore lint/suspicious/noExplicitAny: raw JSON answers are read field by field in tests
export type Json = any;

/** request sends raw HTTP, for what the typed client would never send. */
export async function request(
  url: string,
  method: string,
  path: string,
  options: { json?: unknown; body?: string; token?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: Json; headers: Headers }> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.json !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(url + path, {
    method,
    headers,
    body: options.json !== undefined ? JSON.stringify(options.json) : options.body,
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {}
  return { status: response.status, body, headers: response.headers };
}

/** rejectsMatching asserts a promise fails with a CumulusError, and lets `check` look at it. */
export async function rejectsMatching(
  promise: Promise<unknown>,
  check: (error: CumulusError) => void,
): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof CumulusError, `expected a CumulusError, got ${String(error)}`);
    check(error);
    return true;
  });
}

/** rejectsWith asserts a promise fails with a CumulusError of this code (and message). */
export async function rejectsWith(promise: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  await rejectsMatching(promise, (error) => {
    assert.equal(error.code, code, `expected ${code}, got ${error.code}: ${error.message}`);
    if (message) assert.match(error.message, message);
  });
}
