/**
 * The browser's half of zero-knowledge sign-in (docs/security.md), byte for byte the CLI's
 * src/client/account-keys.ts: scrypt with the account's parameters (@noble/hashes, since
 * WebCrypto has no scrypt), HKDF-SHA256 into an auth key (sent) and a wrap key (never
 * sent), and AES-256-GCM to wrap and unwrap the account key (WebCrypto). Both
 * implementations pass the same known-answer vectors (test/web/codec/keys.test.ts).
 */
import { hkdf } from '@noble/hashes/hkdf.js';
import { scryptAsync } from '@noble/hashes/scrypt.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { KDF_FLOOR_N, type KdfParams, kdfAcceptable, kdfMemory } from '../../src/api/common.ts';

const KEY_SIZE = 32;
const NONCE_SIZE = 12;
const TAG_SIZE = 16;

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

/**
 * derivePasswordKeys stretches a password with the account's scrypt parameters into its
 * auth and wrap keys. The bounds are the CLI's: a hostile server can neither exhaust the
 * browser nor ask for a stretch cheaper than KDF_FLOOR_N, which would make the auth key it
 * receives cheap to guess the password from. The console never lowers the floor (only the
 * known-answer test does, for its small vectors).
 */
export async function derivePasswordKeys(
  password: string,
  kdf: KdfParams,
  floorN = KDF_FLOOR_N,
): Promise<KeyPair> {
  const memory = kdfMemory(kdf);
  if (!kdfAcceptable(kdf, floorN)) {
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

/** newKdfParams keeps a cost and draws a fresh salt, for a new password. */
export function newKdfParams(cost: Pick<KdfParams, 'N' | 'r' | 'p'>): KdfParams {
  return { name: 'scrypt', N: cost.N, r: cost.r, p: cost.p, salt: toBase64(randomBytes(KEY_SIZE)) };
}

function randomBytes(size: number): Uint8Array<ArrayBuffer> {
  return crypto.getRandomValues(new Uint8Array(size));
}

/** RecoveryKey is shown once as `text`; its halves work like the password's. */
export interface RecoveryKey extends KeyPair {
  /** 64 hex characters in 8 groups of 8, what a person writes down (the CLI's format). */
  text: string;
}

/** newRecoveryKey draws 32 random bytes and splits them like the CLI's. */
export function newRecoveryKey(): RecoveryKey {
  const bytes = randomBytes(KEY_SIZE);
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  const keys = split(bytes, 'recovery');
  bytes.fill(0);
  return { text: hex.match(/.{8}/g)!.join('-'), ...keys };
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

function aadOf(accountId: string, purpose: WrapPurpose): Uint8Array<ArrayBuffer> {
  return utf8.encode(`cumulus-account-key-v1:${accountId}:${purpose}`);
}

function aesKey(wrapKey: Uint8Array, use: KeyUsage): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', new Uint8Array(wrapKey), 'AES-GCM', false, [use]);
}

/** wrapAccountKey seals the account key (nonce ‖ AES-256-GCM ‖ tag), bound to the account and the purpose. */
export async function wrapAccountKey(
  accountKey: Uint8Array,
  wrapKey: Uint8Array,
  accountId: string,
  purpose: WrapPurpose,
): Promise<string> {
  if (accountKey.length !== KEY_SIZE) throw new Error(`the account key must be ${KEY_SIZE} bytes`);
  const nonce = randomBytes(NONCE_SIZE);
  const sealed = await crypto.subtle.encrypt(
    { name: 'AES-GCM', iv: nonce, additionalData: aadOf(accountId, purpose) },
    await aesKey(wrapKey, 'encrypt'),
    new Uint8Array(accountKey),
  );
  const bytes = new Uint8Array(NONCE_SIZE + sealed.byteLength);
  bytes.set(nonce);
  bytes.set(new Uint8Array(sealed), NONCE_SIZE);
  return toBase64(bytes);
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
  const key = await aesKey(wrapKey, 'decrypt');
  try {
    const plain = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: bytes.subarray(0, NONCE_SIZE), additionalData: aadOf(accountId, purpose) },
      key,
      bytes.subarray(NONCE_SIZE),
    );
    return new Uint8Array(plain);
  } catch {
    const what = purpose === 'password' ? 'password' : 'recovery key';
    throw new KeyError('wrong_password', `the ${what} does not open the account key: check it and try again`);
  }
}
