/**
 * Account keys on the device side of zero-knowledge sign-in (docs/security.md). The
 * password is stretched with scrypt under the account's salt into two keys: the auth key,
 * sent to the server as proof, and the wrap key, which never leaves the device and seals
 * the account key. A recovery key is 32 random bytes split the same way. The account key
 * itself is the repository master key (docs/format.md, "Keys").
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes, scrypt } from 'node:crypto';
import { type KdfParams, kdfAcceptable, kdfMemory } from '../api/common.ts';
import { CumulusError } from '../core/errors.ts';
import type { KdfParams as KdfCost } from '../core/keys.ts';

const KEY_SIZE = 32;
const NONCE_SIZE = 12;
const TAG_SIZE = 16;

/** KeyPair is the two halves derived from one secret: one to prove it, one to seal with. */
export interface KeyPair {
  /** base64 of 32 bytes, sent to the server, which stores only a slow hash of it. */
  authKey: string;
  /** Never sent: wraps the account key. */
  wrapKey: Buffer;
}

export type WrapPurpose = 'password' | 'recovery';

function split(secret: Buffer, label: string): KeyPair {
  const derive = (use: string) =>
    Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), `cumulus v1 ${label} ${use}`, KEY_SIZE));
  return { authKey: derive('auth').toString('base64'), wrapKey: derive('wrap') };
}

/** newKdfParams returns scrypt parameters with a fresh random salt, for a new account or a new password. */
export function newKdfParams(cost: KdfCost): KdfParams {
  return { name: 'scrypt', N: cost.N, r: cost.r, p: cost.p, salt: randomBytes(KEY_SIZE).toString('base64') };
}

/**
 * derivePasswordKeys stretches a password with the account's scrypt parameters into its
 * auth and wrap keys; parameters from a server below `floorN` (or above 1 GiB) are refused.
 * Sign-in passes KDF_FLOOR_N (or less only under a test's CUMULUS_KDF_COST); without a
 * floor only a test's cost is the least.
 */
export async function derivePasswordKeys(password: string, kdf: KdfParams, floorN = 0): Promise<KeyPair> {
  const memory = kdfMemory(kdf);
  if (!kdfAcceptable(kdf, floorN)) {
    throw new CumulusError(
      'invalid_input',
      `the server asked for an unusual password cost (scrypt N=${kdf.N}, r=${kdf.r}, p=${kdf.p})`,
      {
        hint: 'this device refuses it; check that the server address is the right one',
      },
    );
  }
  const stretched = await new Promise<Buffer>((resolve, reject) =>
    scrypt(
      Buffer.from(password.normalize('NFC'), 'utf8'),
      Buffer.from(kdf.salt, 'base64'),
      KEY_SIZE,
      { N: kdf.N, r: kdf.r, p: kdf.p, maxmem: 2 * memory + (1 << 20) },
      (error, key) => (error ? reject(error) : resolve(key)),
    ),
  );
  return split(stretched, 'password');
}

/** RecoveryKey is shown once as `text`; its halves work like the password's. */
export interface RecoveryKey extends KeyPair {
  /** 64 hex characters in 8 groups, what a person writes down. */
  text: string;
}

function recoveryKeyOf(bytes: Buffer): RecoveryKey {
  const hex = bytes.toString('hex');
  return { text: hex.match(/.{8}/g)!.join('-'), ...split(bytes, 'recovery') };
}

export function newRecoveryKey(): RecoveryKey {
  return recoveryKeyOf(randomBytes(KEY_SIZE));
}

/** parseRecoveryKey reads a typed recovery key, ignoring case, spaces and dashes. */
export function parseRecoveryKey(text: string): RecoveryKey {
  const hex = text.replace(/[\s-]/g, '').toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(hex)) {
    throw new CumulusError('usage', 'that is not a recovery key', {
      hint: 'a recovery key is 64 characters 0-9 and a-f, in groups of 8',
    });
  }
  return recoveryKeyOf(Buffer.from(hex, 'hex'));
}

function aadOf(accountId: string, purpose: WrapPurpose): Buffer {
  return Buffer.from(`cumulus-account-key-v1:${accountId}:${purpose}`, 'ascii');
}

/** wrapAccountKey seals the account key with AES-256-GCM, bound to the account and the purpose. */
export function wrapAccountKey(
  accountKey: Buffer,
  wrapKey: Buffer,
  accountId: string,
  purpose: WrapPurpose,
): string {
  if (accountKey.length !== KEY_SIZE) throw new Error(`the account key must be ${KEY_SIZE} bytes`);
  const nonce = randomBytes(NONCE_SIZE);
  const cipher = createCipheriv('aes-256-gcm', wrapKey, nonce).setAAD(aadOf(accountId, purpose));
  return Buffer.concat([nonce, cipher.update(accountKey), cipher.final(), cipher.getAuthTag()]).toString(
    'base64',
  );
}

/**
 * unwrapAccountKey opens a wrapped account key. A seal that does not open means the
 * password (or recovery key) does not match what wrapped it: 'wrong_password'.
 */
export function unwrapAccountKey(
  wrapped: string,
  wrapKey: Buffer,
  accountId: string,
  purpose: WrapPurpose,
): Buffer {
  const bytes = Buffer.from(wrapped, 'base64');
  if (bytes.length !== NONCE_SIZE + KEY_SIZE + TAG_SIZE) {
    throw new CumulusError('key_damaged', 'the account key the server sent is damaged', {
      hint: "tell the server's admin",
    });
  }
  const decipher = createDecipheriv('aes-256-gcm', wrapKey, bytes.subarray(0, NONCE_SIZE)).setAAD(
    aadOf(accountId, purpose),
  );
  decipher.setAuthTag(bytes.subarray(NONCE_SIZE + KEY_SIZE));
  try {
    return Buffer.concat([
      decipher.update(bytes.subarray(NONCE_SIZE, NONCE_SIZE + KEY_SIZE)),
      decipher.final(),
    ]);
  } catch {
    const what = purpose === 'password' ? 'password' : 'recovery key';
    throw new CumulusError('wrong_password', `the ${what} does not open the account key`, {
      hint: `check the ${what}; if the password was changed on another device, use the new one`,
    });
  }
}
