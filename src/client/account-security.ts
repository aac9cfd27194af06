/**
 * Changes to an account's secrets from a signed-in device: a new password (the account key
 * re-wrapped, the server swapping salt, auth hash and wrapped key in one transaction), a
 * new recovery key, and TOTP enrolment. Each proves the current password first.
 */
import * as account from '../api/account.ts';
import { KDF_FLOOR_N } from '../api/common.ts';
import { CumulusError } from '../core/errors.ts';
import type { KdfParams as KdfCost } from '../core/keys.ts';
import type { AccountClient } from './account-client.ts';
import {
  derivePasswordKeys,
  type KeyPair,
  newKdfParams,
  newRecoveryKey,
  unwrapAccountKey,
  wrapAccountKey,
} from './account-keys.ts';
import type { DeviceState } from './device-state.ts';

/**
 * proveCurrentPassword derives the current password's keys with the server's parameters,
 * refused below `kdfFloorN` (a hostile server must not get a cheap hash of the password),
 * and checks them locally: they must open the wrapped account key the server holds, and it
 * must be this device's key.
 */
async function proveCurrentPassword(
  client: AccountClient,
  state: DeviceState,
  password: string,
  kdfFloorN: number,
): Promise<KeyPair> {
  const { keys, kdf } = await client.call(account.getKeys, {});
  if (!keys)
    throw new CumulusError('conflict', 'this account has no key yet', { hint: 'sign in on a device first' });
  const current = await derivePasswordKeys(password, kdf, kdfFloorN);
  const accountKey = unwrapAccountKey(keys.wrappedKey, current.wrapKey, state.accountId, 'password');
  if (!accountKey.equals(Buffer.from(state.accountKey, 'base64'))) {
    throw new CumulusError('key_damaged', "the server's account key differs from this device's", {
      hint: 'sign out and in again on this device (`cumulus logout`, then `cumulus login`)',
    });
  }
  return current;
}

/** changePassword replaces the password; the account key stays the same, so every device keeps working. */
export async function changePassword(
  client: AccountClient,
  state: DeviceState,
  passwords: { current: string; next: string },
  cost: KdfCost,
  kdfFloorN = KDF_FLOOR_N,
): Promise<void> {
  const current = await proveCurrentPassword(client, state, passwords.current, kdfFloorN);
  const kdf = newKdfParams(cost);
  const next = await derivePasswordKeys(passwords.next, kdf);
  const wrappedKey = wrapAccountKey(
    Buffer.from(state.accountKey, 'base64'),
    next.wrapKey,
    state.accountId,
    'password',
  );
  await client.call(account.changePassword, {
    body: { currentAuthKey: current.authKey, kdf, authKey: next.authKey, wrappedKey },
  });
}

/** replaceRecoveryKey makes a new recovery key and returns its text, to show once; the old one stops working. */
export async function replaceRecoveryKey(
  client: AccountClient,
  state: DeviceState,
  password: string,
  kdfFloorN = KDF_FLOOR_N,
): Promise<string> {
  const current = await proveCurrentPassword(client, state, password, kdfFloorN);
  const recovery = newRecoveryKey();
  const wrappedKey = wrapAccountKey(
    Buffer.from(state.accountKey, 'base64'),
    recovery.wrapKey,
    state.accountId,
    'recovery',
  );
  await client.call(account.replaceRecoveryKey, {
    body: { authKey: current.authKey, recovery: { authKey: recovery.authKey, wrappedKey } },
  });
  return recovery.text;
}

/** beginTotp starts enrolling an authenticator app; confirm with the app's first code (account.confirmTotp). */
export async function beginTotp(
  client: AccountClient,
  state: DeviceState,
  password: string,
  kdfFloorN = KDF_FLOOR_N,
): Promise<{ secret: string; uri: string }> {
  const current = await proveCurrentPassword(client, state, password, kdfFloorN);
  return client.call(account.beginTotp, { body: { authKey: current.authKey } });
}

export async function disableTotp(
  client: AccountClient,
  state: DeviceState,
  password: string,
  kdfFloorN = KDF_FLOOR_N,
): Promise<void> {
  const current = await proveCurrentPassword(client, state, password, kdfFloorN);
  await client.call(account.disableTotp, { body: { authKey: current.authKey } });
}
