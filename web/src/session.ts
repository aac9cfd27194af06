/**
 * signIn takes the browser through the CLI's zero-knowledge sign-in (src/client/sign-in.ts):
 * pre-login, stretch the password here, prove it with the auth key, pass the second factor
 * the server asks for (a trusted device's code, TOTP or the recovery key), then unwrap the
 * account key here. The Session it returns lives in memory only; signOut revokes the
 * server session and overwrites the key.
 */
import { getAccount } from '../../src/api/account.ts';
import type { ApprovalMethod, DeviceInfo, SecondFactor, SignedIn } from '../../src/api/auth.ts';
import * as auth from '../../src/api/auth.ts';
import type { RepositoryConfig } from '../../src/api/common.ts';
import { ApiClient, CONSOLE_VERSION } from './api.ts';
import { derivePasswordKeys, KeyError, type KeyPair, parseRecoveryKey, unwrapAccountKey } from './keys.ts';

export interface Session {
  api: ApiClient;
  email: string;
  role: 'user' | 'admin';
  accountId: string;
  deviceId: string;
  /** The repository master key: in this tab's memory only. */
  accountKey: Uint8Array;
  repositoryConfig: RepositoryConfig;
}

export interface PendingSignIn {
  methods: ApprovalMethod[];
  expiresAt: string;
  /** complete may be called again after a wrong answer. */
  complete(factor: SecondFactor): Promise<Session>;
}

/** browserDevice names this browser for the account's device list and the approval prompt. */
export function browserDevice(name: string): DeviceInfo {
  return { name, platform: 'web', agentVersion: CONSOLE_VERSION };
}

export async function signIn(
  email: string,
  password: string,
  device: DeviceInfo,
): Promise<Session | PendingSignIn> {
  const api = new ApiClient();
  const { kdf } = await api.call(auth.prelogin, { body: { email } });
  const passwordKeys = await derivePasswordKeys(password, kdf);
  const answer = await api.call(auth.login, { body: { email, authKey: passwordKeys.authKey, device } });
  if (answer.status === 'signed_in') return finish(api, passwordKeys, answer);
  const { signInToken } = answer;
  return {
    methods: answer.methods,
    expiresAt: answer.expiresAt,
    async complete(factor) {
      switch (factor.method) {
        case 'code':
          return finish(
            api,
            passwordKeys,
            await api.call(auth.completeWithCode, { body: { signInToken, code: factor.code } }),
          );
        case 'totp':
          return finish(
            api,
            passwordKeys,
            await api.call(auth.completeWithTotp, { body: { signInToken, code: factor.code } }),
          );
        case 'recovery': {
          const recovery = parseRecoveryKey(factor.recoveryKey);
          const answer = await api.call(auth.completeWithRecoveryKey, {
            body: { signInToken, recoveryAuthKey: recovery.authKey },
          });
          return finish(api, passwordKeys, answer, recovery);
        }
      }
    },
  };
}

async function finish(
  api: ApiClient,
  passwordKeys: KeyPair,
  signedIn: SignedIn,
  recovery?: KeyPair,
): Promise<Session> {
  const { session } = signedIn;
  const signed = api.withToken(session.token);
  if (signedIn.keys === null) {
    // The account's first device makes its keys and shows the recovery key: that is the CLI's job.
    await signed.call(auth.logout, {});
    throw new KeyError(
      'invalid_input',
      'this account has no keys yet: sign in first on a computer with `cumulus login`, which creates them and shows the recovery key once',
    );
  }
  const keys = signedIn.keys;
  const accountKey =
    recovery && keys.recoveryWrappedKey
      ? await unwrapAccountKey(keys.recoveryWrappedKey, recovery.wrapKey, session.accountId, 'recovery')
      : await unwrapAccountKey(keys.wrappedKey, passwordKeys.wrapKey, session.accountId, 'password');
  passwordKeys.wrapKey.fill(0);
  recovery?.wrapKey.fill(0);
  const account = await signed.call(getAccount, {});
  return {
    api: signed,
    email: account.email,
    role: account.role,
    accountId: session.accountId,
    deviceId: session.deviceId,
    accountKey,
    repositoryConfig: keys.repositoryConfig,
  };
}

/** forget overwrites the key in memory, for a session the server has ended already. */
export function forget(session: Session): void {
  session.accountKey.fill(0);
}

/** signOut ends the server session (its token stops working) and overwrites the key in memory. */
export async function signOut(session: Session): Promise<void> {
  forget(session);
  await session.api.call(auth.logout, {});
}
