/**
 * signIn takes a device through zero-knowledge sign-in: ask the server how to stretch the
 * password, prove it with the auth key, pass the second factor when the server asks for
 * one, then unwrap the account key locally with the wrap key (or the recovery key). The
 * first device of an account creates the account key, the repository config and the
 * recovery key instead. Returns the state to save; nothing is written here.
 */

import * as account from '../api/account.ts';
import type { AccountKeys, ApprovalMethod, DeviceInfo, SecondFactor, SignedIn } from '../api/auth.ts';
import * as auth from '../api/auth.ts';
import { DEFAULT_CHUNKER } from '../core/chunker.ts';
import { isCumulusError } from '../core/errors.ts';
import { type KdfParams as KdfCost, newMasterKey, newRepositoryId } from '../core/keys.ts';
import { AccountClient } from './account-client.ts';
import {
  derivePasswordKeys,
  type KeyPair,
  newKdfParams,
  newRecoveryKey,
  parseRecoveryKey,
  unwrapAccountKey,
  wrapAccountKey,
} from './account-keys.ts';
import type { DeviceState } from './device-state.ts';
import type { RepositoryConfig } from './repository.ts';

export interface SignInRequest {
  serverUrl: string;
  email: string;
  password: string;
  device: DeviceInfo;
  /** The least scrypt N to accept from the server (the CLI: the floor, or the most this device saw). */
  kdfFloorN?: number;
}

/** SignInResult is a finished sign-in; `recoveryKey` is set only for an account's first device, to show once. */
export interface SignInResult {
  state: DeviceState;
  recoveryKey?: string;
  /** The scrypt N the password was stretched with, for the device to remember (KdfMemory). */
  kdfN: number;
}

/** PendingSignIn waits for a second factor; complete may be called again after a wrong one. */
export interface PendingSignIn {
  methods: ApprovalMethod[];
  expiresAt: string;
  complete(factor: SecondFactor): Promise<SignInResult>;
}

/**
 * acceptInvite creates an invited account with a password the person chose here: the
 * server (and the admin who made the invite) gets only its auth key and KDF parameters.
 * The device then signs in with signIn, as the account's first device.
 */
export async function acceptInvite(request: {
  serverUrl: string;
  inviteToken: string;
  email: string;
  password: string;
  kdfCost: KdfCost;
}): Promise<void> {
  const kdf = newKdfParams(request.kdfCost);
  const { authKey } = await derivePasswordKeys(request.password, kdf);
  await new AccountClient({ serverUrl: request.serverUrl }).call(auth.acceptInvite, {
    body: { inviteToken: request.inviteToken, email: request.email, kdf, authKey },
  });
}

export async function signIn(request: SignInRequest): Promise<SignInResult | PendingSignIn> {
  const client = new AccountClient({ serverUrl: request.serverUrl });
  const { kdf } = await client.call(auth.prelogin, { body: { email: request.email } });
  const passwordKeys = await derivePasswordKeys(request.password, kdf, request.kdfFloorN);
  const answer = await client.call(auth.login, {
    body: { email: request.email, authKey: passwordKeys.authKey, device: request.device },
  });
  const context = { client, request, passwordKeys, kdfN: kdf.N };
  if (answer.status === 'signed_in') return finish(context, answer);
  const { signInToken } = answer;
  return {
    methods: answer.methods,
    expiresAt: answer.expiresAt,
    async complete(factor) {
      switch (factor.method) {
        case 'code':
          return finish(
            context,
            await client.call(auth.completeWithCode, { body: { signInToken, code: factor.code } }),
          );
        case 'totp':
          return finish(
            context,
            await client.call(auth.completeWithTotp, { body: { signInToken, code: factor.code } }),
          );
        case 'recovery': {
          const recovery = parseRecoveryKey(factor.recoveryKey);
          const answer = await client.call(auth.completeWithRecoveryKey, {
            body: { signInToken, recoveryAuthKey: recovery.authKey },
          });
          return finish(context, answer, recovery);
        }
      }
    },
  };
}

interface Context {
  client: AccountClient;
  request: SignInRequest;
  passwordKeys: KeyPair;
  kdfN: number;
}

async function finish(context: Context, signedIn: SignedIn, recovery?: KeyPair): Promise<SignInResult> {
  const { session } = signedIn;
  const client = context.client.withToken(session.token);
  let keys = signedIn.keys;
  let recoveryKey: string | undefined;
  if (keys === null) {
    const created = await createAccountKeys(client, session.accountId, context.passwordKeys);
    ({ keys, recoveryKey } = created);
  }
  const accountKey =
    recovery && keys.recoveryWrappedKey
      ? unwrapAccountKey(keys.recoveryWrappedKey, recovery.wrapKey, session.accountId, 'recovery')
      : unwrapAccountKey(keys.wrappedKey, context.passwordKeys.wrapKey, session.accountId, 'password');
  const state: DeviceState = {
    version: 1,
    serverUrl: client.serverUrl,
    email: context.request.email,
    accountId: session.accountId,
    deviceId: session.deviceId,
    deviceName: context.request.device.name,
    token: session.token,
    accountKey: accountKey.toString('base64'),
    repositoryConfig: keys.repositoryConfig,
  };
  const { kdfN } = context;
  return recoveryKey === undefined ? { state, kdfN } : { state, recoveryKey, kdfN };
}

/**
 * createAccountKeys makes the account key, the repository config and the recovery key on
 * the first device and stores them wrapped. If another device got there first, its keys
 * are fetched instead.
 */
async function createAccountKeys(
  client: AccountClient,
  accountId: string,
  passwordKeys: KeyPair,
): Promise<{ keys: AccountKeys; recoveryKey?: string }> {
  const accountKey = newMasterKey();
  const recovery = newRecoveryKey();
  const repositoryConfig: RepositoryConfig = {
    version: 1,
    id: newRepositoryId(),
    chunker: { ...DEFAULT_CHUNKER },
    created: new Date().toISOString(),
  };
  const keys = {
    repositoryConfig,
    wrappedKey: wrapAccountKey(accountKey, passwordKeys.wrapKey, accountId, 'password'),
  };
  try {
    await client.call(account.setUpKeys, {
      body: {
        ...keys,
        recovery: {
          authKey: recovery.authKey,
          wrappedKey: wrapAccountKey(accountKey, recovery.wrapKey, accountId, 'recovery'),
        },
      },
    });
    return { keys, recoveryKey: recovery.text };
  } catch (error) {
    if (!isCumulusError(error, 'conflict')) throw error;
    const existing = (await client.call(account.getKeys, {})).keys;
    if (!existing) throw error;
    return { keys: existing };
  }
}
