/**
 * The browser's half of zero-knowledge sign-in (docs/security.md), byte for byte the CLI's
 * src/client/account-keys.ts: scrypt with the account's parameters (@noble/hashes, since
 * WebCrypto has no scrypt), HKDF-SHA256 into an auth key (sent) and a wrap key (never
 * sent), and AES-256-GCM to unwrap the account key (WebCrypto). Both implementations pass
 * the same known-answer vectors (test/web/keys.test.ts).
 */
import { hkdf } from '@noble/hashes/hkdf.js';
import { scryptAsync } from '@noble/hashes/scrypt.js';
import { sha256 } from '@noble/hashes/sha2.js';
import type { KdfParams } from '../../src/api/common.ts';

const KEY_SIZE = 32;
const NONCE_SIZE = 12;
const TAG_SIZE = 16;
/** The same bounds as the CLI's: a hostile server can neither exhaust the browser nor ask for a trivial stretch. */
const MAX_SCRYPT_MEMORY = 1024 ** 3;
const MIN_N = 2 ** 10;

/** KeyPair is the two halves derived from one secret: one to prove it, one to seal with. */
export interface KeyPair {
  /** base64 of 32 bytes, sent to the server as proof. */
  authKey: string;
  /** Never sent: wraps the account key. */
  wrapKey: Uint8Array;
}

export type WrapPurpose = 'password' | 'recovery';

/** KeyError is a key that does not open, or a request the browser refuses; `message` is for a person. */
export class KeyError extends Error {
  readonly code: 'wrong_password' | 'invalid_input' | 'key_damaged';
  constructor(code: KeyError['code'], message: string) {
    super(message);
    this.name = 'KeyError';
    this.code = code;
  }
}

const utf8 = new TextEncoder();

export function toBase64(bytes: Uint8Array): string {
  let text = '';
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text);
}

export function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function split(secret: Uint8Array, label: string): KeyPair {
  const derive = (use: string) =>
    hkdf(sha256, secret, undefined, utf8.encode(`cumulus v1 ${label} ${use}`), KEY_SIZE);
  const auth = derive('auth');
  return { authKey: toBase64(auth), wrapKey: derive('wrap') };
}

/** derivePasswordKeys stretches a password with the account's scrypt parameters into its auth and wrap keys. */
export async function derivePasswordKeys(password: string, kdf: KdfParams): Promise<KeyPair> {
  const memory = 128 * kdf.N * kdf.r * kdf.p;
  if (kdf.N < MIN_N || memory > MAX_SCRYPT_MEMORY) {
    throw new KeyError(
      'invalid_input',
      `the server asked for an unusual password cost (scrypt N=${kdf.N}, r=${kdf.r}, p=${kdf.p}); this browser refuses it`,
    );
  }
  const stretched = await scryptAsync(utf8.encode(password.normalize('NFC')), fromBase64(kdf.salt), {
    N: kdf.N,
    r: kdf.r,
    p: kdf.p,
    dkLen: KEY_SIZE,
    maxmem: 2 * memory + (1 << 20),
  });
  const keys = split(stretched, 'password');
  stretched.fill(0);
  return keys;
}

/** parseRecoveryKey reads a typed recovery key (64 hex digits; case, spaces and dashes ignored). */
export function parseRecoveryKey(text: string): KeyPair {
  const hex = text.replace(/[\s-]/g, '').toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(hex)) {
    throw new KeyError(
      'invalid_input',
      'that is not a recovery key: it has 64 characters 0-9 and a-f, in groups of 8',
    );
  }
  const bytes = new Uint8Array(KEY_SIZE);
  for (let i = 0; i < KEY_SIZE; i++) bytes[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return split(bytes, 'recovery');
}

/**
 * unwrapAccountKey opens the wrapped account key (nonce ‖ AES-256-GCM ‖ tag, bound to the
 * account and the purpose). A seal that does not open means the secret does not match.
 */
export async function unwrapAccountKey(
  wrapped: string,
  wrapKey: Uint8Array,
  accountId: string,
  purpose: WrapPurpose,
): Promise<Uint8Array> {
  const bytes = fromBase64(wrapped);
  if (bytes.length !== NONCE_SIZE + KEY_SIZE + TAG_SIZE) {
    throw new KeyError('key_damaged', "the account key the server sent is damaged: tell the server's admin");
  }
  const key = await crypto.subtle.importKey('raw', new Uint8Array(wrapKey), 'AES-GCM', false, ['decrypt']);
  try {
    const plain = await crypto.subtle.decrypt(
      {
        name: 'AES-GCM',
        iv: bytes.subarray(0, NONCE_SIZE),
        additionalData: utf8.encode(`cumulus-account-key-v1:${accountId}:${purpose}`),
      },
      key,
      bytes.subarray(NONCE_SIZE),
    );
    return new Uint8Array(plain);
  } catch {
    const what = purpose === 'password' ? 'password' : 'recovery key';
    throw new KeyError('wrong_password', `the ${what} does not open the account key: check it and try again`);
  }
}
