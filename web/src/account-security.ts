/**
 * Changes to the account's secrets from the console, the browser's half of the CLI's
 * src/client/account-security.ts: each proves the current password first (here, by
 * opening the account key the server holds and finding this session's key), then a new
 * password re-wraps the account key under a new salt, which the server swaps with the auth
 * hash in one transaction; a new recovery key re-wraps it under the new key; TOTP needs
 * the proof to start or stop. The account key never changes, so every device keeps working.
 */
import * as account from '../../src/api/account.ts';
import { KDF_FLOOR_N, type KdfParams } from '../../src/api/common.ts';
import { DEFAULT_KDF } from '../../src/core/kdf-cost.ts';
import {
  derivePasswordKeys,
  KeyError,
  type KeyPair,
  newKdfParams,
  newRecoveryKey,
  unwrapAccountKey,
  wrapAccountKey,
} from './keys.ts';
import type { Session } from './session.ts';

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

/**
 * proveCurrentPassword derives the current password's keys with the account's parameters
 * (refused below the floor) and checks them here: a wrong password fails before anything
 * is sent but a proof that does not match.
 */
export async function proveCurrentPassword(
  session: Session,
  password: string,
): Promise<{ current: KeyPair; kdf: KdfParams }> {
  const { keys, kdf } = await session.api.call(account.getKeys, {});
  if (!keys) throw new KeyError('key_damaged', 'this account has no key yet: sign in on a device first');
  const current = await derivePasswordKeys(password, kdf);
  const accountKey = await unwrapAccountKey(keys.wrappedKey, current.wrapKey, session.accountId, 'password');
  const same = sameBytes(accountKey, session.accountKey);
  accountKey.fill(0);
  current.wrapKey.fill(0);
  if (!same) {
    throw new KeyError(
      'key_damaged',
      "the server's account key differs from this browser's: sign out and sign in again",
    );
  }
  return { current, kdf };
}

/**
 * changePassword replaces the password. The new stretch costs at least the default (an
 * account made when 2^16 was the default moves up), never less than the account's now.
 */
export async function changePassword(
  session: Session,
  passwords: { current: string; next: string },
): Promise<void> {
  const { current, kdf } = await proveCurrentPassword(session, passwords.current);
  const cost = {
    N: Math.max(kdf.N, DEFAULT_KDF.N, KDF_FLOOR_N),
    r: Math.max(kdf.r, DEFAULT_KDF.r),
    p: Math.max(kdf.p, DEFAULT_KDF.p),
  };
  const nextKdf = newKdfParams(cost);
  const next = await derivePasswordKeys(passwords.next, nextKdf);
  const wrappedKey = await wrapAccountKey(session.accountKey, next.wrapKey, session.accountId, 'password');
  next.wrapKey.fill(0);
  await session.api.call(account.changePassword, {
    body: { currentAuthKey: current.authKey, kdf: nextKdf, authKey: next.authKey, wrappedKey },
  });
}

/** replaceRecoveryKey makes a new recovery key and returns its text, to show once; the old one stops working. */
export async function replaceRecoveryKey(session: Session, password: string): Promise<string> {
  const { current } = await proveCurrentPassword(session, password);
  const recovery = newRecoveryKey();
  const wrappedKey = await wrapAccountKey(
    session.accountKey,
    recovery.wrapKey,
    session.accountId,
    'recovery',
  );
  recovery.wrapKey.fill(0);
  await session.api.call(account.replaceRecoveryKey, {
    body: { authKey: current.authKey, recovery: { authKey: recovery.authKey, wrappedKey } },
  });
  return recovery.text;
}

/** beginTotp starts enrolling an authenticator app: its secret and otpauth URI, confirmed by a first code. */
export async function beginTotp(
  session: Session,
  password: string,
): Promise<{ secret: string; uri: string }> {
  const { current } = await proveCurrentPassword(session, password);
  return session.api.call(account.beginTotp, { body: { authKey: current.authKey } });
}

export async function disableTotp(session: Session, password: string): Promise<void> {
  const { current } = await proveCurrentPassword(session, password);
  await session.api.call(account.disableTotp, { body: { authKey: current.authKey } });
}
