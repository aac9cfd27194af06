/**
 * Keys of a repository (docs/format.md, "Keys"): the random master key, the subkeys
 * derived from it with HKDF-SHA256, and key files that keep the master key wrapped under
 * a password with scrypt and AES-256-GCM.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  hkdfSync,
  randomBytes,
  scrypt,
} from 'node:crypto';
import { GEAR_SIZE, gearFromBytes } from './chunker.ts';
import { CumulusError } from './errors.ts';
import { hasFields, isLowerHex, isRecord, isTimestamp } from './json-fields.ts';
import type { KdfParams } from './kdf-cost.ts';

export { DEFAULT_KDF, type KdfParams, TEST_KDF } from './kdf-cost.ts';

const MASTER_KEY_SIZE = 32;
const REPOSITORY_ID_SIZE = 32;
const KEY_ID_SIZE = 16;
const SALT_SIZE = 32;
const NONCE_SIZE = 12;
const TAG_SIZE = 16;
const SOURCE_ID_SIZE = 16;

/** newMasterKey returns 32 random bytes: the key everything in a repository derives from. */
export function newMasterKey(): Buffer {
  return randomBytes(MASTER_KEY_SIZE);
}

/** newRepositoryId returns a random repository ID: 32 bytes as 64 lowercase hex characters. */
export function newRepositoryId(): string {
  return randomBytes(REPOSITORY_ID_SIZE).toString('hex');
}

/** Subkeys are the keys derived from the master key; see docs/format.md for each use. */
export interface Subkeys {
  /** AES-256-GCM key that seals blobs. */
  encryption: Buffer;
  /** HMAC-SHA256 key that names blobs. */
  blobId: Buffer;
  /** The chunker's secret gear table. */
  gear: Uint32Array;
  /** HMAC-SHA256 key that names sources. */
  sourceId: Buffer;
}

function hkdf(master: Buffer, salt: Buffer, label: string, length: number): Buffer {
  return Buffer.from(hkdfSync('sha256', master, salt, label, length));
}

/**
 * deriveSubkeys derives a repository's subkeys from its master key with HKDF-SHA256,
 * salted with the repository ID's bytes. Throws (a bug) on a malformed key or ID.
 */
export function deriveSubkeys(master: Buffer, repositoryId: string): Subkeys {
  if (master.length !== MASTER_KEY_SIZE) throw new Error(`master key must be ${MASTER_KEY_SIZE} bytes`);
  if (!isLowerHex(repositoryId, REPOSITORY_ID_SIZE))
    throw new Error('repository id must be 64 lowercase hex characters');
  const salt = Buffer.from(repositoryId, 'hex');
  return {
    encryption: hkdf(master, salt, 'cumulus v1 encryption', 32),
    blobId: hkdf(master, salt, 'cumulus v1 blob-id', 32),
    gear: gearFromBytes(hkdf(master, salt, 'cumulus v1 chunker', GEAR_SIZE * 4)),
    sourceId: hkdf(master, salt, 'cumulus v1 source-id', 32),
  };
}

/** sourceIdOf returns the opaque ID of a backed-up path: HMAC(host ‖ 0x00 ‖ path), 16 bytes hex. */
export function sourceIdOf(keys: Subkeys, host: string, path: string): string {
  return createHmac('sha256', keys.sourceId)
    .update(host, 'utf8')
    .update(Buffer.of(0))
    .update(path, 'utf8')
    .digest()
    .subarray(0, SOURCE_ID_SIZE)
    .toString('hex');
}

/** Bounds a key file's scrypt parameters must keep, so a damaged file cannot ask for 1 TB of memory. */
const LARGEST_N = 2 ** 24;
const LARGEST_RP = 64;

/** KeyFile is the JSON of `keys/<keyId>.json` (docs/format.md, "Key files"). */
export interface KeyFile {
  version: 1;
  /** 16 random bytes, hex: the file's name and part of the AAD. */
  id: string;
  created: string;
  host: string;
  user: string;
  kdf: { name: 'scrypt'; N: number; r: number; p: number; salt: string };
  /** base64 of nonce(12) ‖ ciphertext(32) ‖ tag(16). */
  wrapped: string;
  /** hex SHA-256 of the canonical JSON of every other field. */
  checksum: string;
}

/** keyFileDamaged is the error for a key file that cannot be read as written. */
function keyFileDamaged(reason: string): CumulusError {
  return new CumulusError('key_damaged', `key file is damaged: ${reason}`, {
    hint: 'open the repository with another password (cumulus key list), or restore the key file from a copy',
  });
}

/**
 * canonicalJson writes a JSON value with object keys sorted by code unit and no
 * whitespace, so the checksum does not depend on how the file was formatted.
 */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const fields = Object.keys(record)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`);
    return `{${fields.join(',')}}`;
  }
  return JSON.stringify(value);
}

function checksumOf(file: Omit<KeyFile, 'checksum'> & { checksum?: string }): string {
  const { checksum: _, ...fields } = file;
  return createHash('sha256').update(canonicalJson(fields), 'utf8').digest('hex');
}

function aadOf(keyId: string): Buffer {
  return Buffer.from(`cumulus-key-v1:${keyId}`, 'ascii');
}

function scryptParams(kdf: KdfParams): { N: number; r: number; p: number; maxmem: number } {
  // Node refuses scrypt above maxmem (32 MiB by default); scrypt needs 128·N·r bytes plus a
  // little for p, so allow twice that.
  return { N: kdf.N, r: kdf.r, p: kdf.p, maxmem: 256 * kdf.N * kdf.r * kdf.p + (1 << 20) };
}

/** passwordBytes is the UTF-8 of the password's NFC form, so one typed password matches on every OS. */
function passwordBytes(password: string): Buffer {
  return Buffer.from(password.normalize('NFC'), 'utf8');
}

function deriveKek(password: string, salt: Buffer, kdf: KdfParams): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(passwordBytes(password), salt, 32, scryptParams(kdf), (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}

/**
 * wrapMasterKey seals the master key under a password into a new key file with a fresh
 * ID and salt. `host` and `user` only tell people which password this is.
 */
export async function wrapMasterKey(
  master: Buffer,
  password: string,
  options: { kdf: KdfParams; host: string; user: string; created?: Date },
): Promise<KeyFile> {
  if (master.length !== MASTER_KEY_SIZE) throw new Error(`master key must be ${MASTER_KEY_SIZE} bytes`);
  const id = randomBytes(KEY_ID_SIZE).toString('hex');
  const salt = randomBytes(SALT_SIZE);
  const kek = await deriveKek(password, salt, options.kdf);
  const nonce = randomBytes(NONCE_SIZE);
  const cipher = createCipheriv('aes-256-gcm', kek, nonce).setAAD(aadOf(id));
  const wrapped = Buffer.concat([nonce, cipher.update(master), cipher.final(), cipher.getAuthTag()]);
  const fields: Omit<KeyFile, 'checksum'> = {
    version: 1,
    id,
    created: (options.created ?? new Date()).toISOString(),
    host: options.host,
    user: options.user,
    kdf: {
      name: 'scrypt',
      N: options.kdf.N,
      r: options.kdf.r,
      p: options.kdf.p,
      salt: salt.toString('base64'),
    },
    wrapped: wrapped.toString('base64'),
  };
  return { ...fields, checksum: checksumOf(fields) };
}

/**
 * unwrapMasterKey opens a key file with a password. Throws CumulusError 'key_damaged'
 * when the checksum does not match (the file changed) and 'wrong_password' when the
 * checksum matches but the seal does not open.
 */
export async function unwrapMasterKey(file: KeyFile, password: string): Promise<Buffer> {
  if (checksumOf(file) !== file.checksum) throw keyFileDamaged('its checksum does not match its contents');
  const kek = await deriveKek(password, Buffer.from(file.kdf.salt, 'base64'), file.kdf);
  const wrapped = Buffer.from(file.wrapped, 'base64');
  const decipher = createDecipheriv('aes-256-gcm', kek, wrapped.subarray(0, NONCE_SIZE)).setAAD(
    aadOf(file.id),
  );
  decipher.setAuthTag(wrapped.subarray(wrapped.length - TAG_SIZE));
  try {
    return Buffer.concat([
      decipher.update(wrapped.subarray(NONCE_SIZE, wrapped.length - TAG_SIZE)),
      decipher.final(),
    ]);
  } catch {
    throw new CumulusError('wrong_password', `wrong password for key ${file.id.slice(0, 8)}`, {
      hint: 'check CUMULUS_PASSWORD or the password file, and try again',
    });
  }
}

/** serializeKeyFile writes a key file as readable JSON with a final newline. */
export function serializeKeyFile(file: KeyFile): string {
  return `${JSON.stringify(file, null, 2)}\n`;
}

/** base64Bytes decodes canonical base64 of exactly `size` bytes, or returns undefined. */
function base64Bytes(text: unknown, size: number): Buffer | undefined {
  if (typeof text !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return bytes.length === size && bytes.toString('base64') === text ? bytes : undefined;
}

function isWithin(value: unknown, smallest: number, largest: number): value is number {
  return Number.isSafeInteger(value) && (value as number) >= smallest && (value as number) <= largest;
}

const KEY_FILE_FIELDS = ['version', 'id', 'created', 'host', 'user', 'kdf', 'wrapped', 'checksum'];
const KDF_FIELDS = ['name', 'N', 'r', 'p', 'salt'];

/** keyFileProblem returns why a parsed JSON value is not a valid key file, or undefined. */
function keyFileProblem(file: unknown): string | undefined {
  if (!isRecord(file) || !hasFields(file, KEY_FILE_FIELDS)) return 'unexpected or missing fields';
  if (file.version !== 1) return `unsupported version ${JSON.stringify(file.version)}`;
  if (!isLowerHex(file.id, KEY_ID_SIZE)) return 'bad id';
  if (!isTimestamp(file.created)) return 'bad creation time';
  if (typeof file.host !== 'string' || typeof file.user !== 'string') return 'bad host or user';
  const kdf = file.kdf;
  if (!isRecord(kdf) || !hasFields(kdf, KDF_FIELDS)) return 'bad kdf';
  if (kdf.name !== 'scrypt') return `unknown kdf ${JSON.stringify(kdf.name)}`;
  const { N, r, p } = kdf;
  if (!isWithin(N, 2, LARGEST_N) || (N & (N - 1)) !== 0) return 'bad scrypt N';
  if (!isWithin(r, 1, LARGEST_RP) || !isWithin(p, 1, LARGEST_RP)) return 'bad scrypt r or p';
  if (base64Bytes(kdf.salt, SALT_SIZE) === undefined) return 'bad salt';
  if (base64Bytes(file.wrapped, NONCE_SIZE + MASTER_KEY_SIZE + TAG_SIZE) === undefined)
    return 'bad wrapped key';
  if (!isLowerHex(file.checksum, 32)) return 'bad checksum';
  return undefined;
}

/**
 * parseKeyFile reads a key file's text, checking every field and the checksum. Anything
 * wrong → CumulusError 'key_damaged'.
 */
export function parseKeyFile(text: string): KeyFile {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw keyFileDamaged('it is not valid JSON');
  }
  const problem = keyFileProblem(value);
  if (problem !== undefined) throw keyFileDamaged(problem);
  const file = value as KeyFile;
  if (checksumOf(file) !== file.checksum) throw keyFileDamaged('its checksum does not match its contents');
  return file;
}
