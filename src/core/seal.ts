/**
 * Blob IDs and sealed blobs (docs/format.md, "Blob IDs and blobs"): a blob is named by
 * the HMAC of its plaintext, compressed with zstd when that pays, and sealed with
 * AES-256-GCM bound to its ID, so a blob cannot be swapped for another unnoticed.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { constants, zstdCompressSync, zstdDecompressSync } from 'node:zlib';
import { CumulusError } from './errors.ts';
import type { Subkeys } from './keys.ts';

const NONCE_SIZE = 12;
const TAG_SIZE = 16;
const FLAG_SIZE = 1;
const STORED = 0;
const ZSTD = 1;

/** SEAL_OVERHEAD is how many bytes sealing adds to a payload: nonce, compression flag, tag. */
export const SEAL_OVERHEAD = NONCE_SIZE + FLAG_SIZE + TAG_SIZE;

/**
 * DEFAULT_ZSTD_LEVEL is zstd level 1. Measured by bench/core.ts on this machine, level 1
 * compresses text- and binary-like data 1.5–2.5× faster than level 3 for a ratio only a
 * few percent worse, and compression is the slowest stage of a backup.
 */
export const DEFAULT_ZSTD_LEVEL = 1;

/**
 * Compression must save at least this fraction of a blob to be kept: below it, the
 * decompression cost on every restore buys next to nothing.
 */
const MIN_SAVING = 0.03;

/**
 * Blobs larger than SAMPLE_FROM are first judged on a SAMPLE_SIZE slice from their
 * middle; when the slice does not compress by MIN_SAVING the whole blob is stored as is.
 * zstd gives up fast on random data but not for free: bench/core.ts shows the sample
 * makes sealing incompressible (media, archives) blobs markedly faster, and costs
 * compressible ones one small extra compression.
 */
const SAMPLE_SIZE = 64 * 1024;
const SAMPLE_FROM = 4 * SAMPLE_SIZE;

/** blobId returns the blob ID of a plaintext: HMAC-SHA256 under the blob-id key, hex. */
export function blobId(key: Buffer, plaintext: Uint8Array): string {
  return createHmac('sha256', key).update(plaintext).digest('hex');
}

function zstd(data: Uint8Array, level: number): Buffer {
  return zstdCompressSync(data, {
    params: { [constants.ZSTD_c_compressionLevel]: level, [constants.ZSTD_c_checksumFlag]: 0 },
  });
}

function saves(compressed: number, original: number): boolean {
  return compressed <= original * (1 - MIN_SAVING);
}

/** compressedOrNot returns the zstd frame of `plaintext` when it saves enough, else undefined. */
function compressedOrNot(plaintext: Uint8Array, level: number): Buffer | undefined {
  if (plaintext.length > SAMPLE_FROM) {
    const from = (plaintext.length - SAMPLE_SIZE) >> 1;
    const sample = plaintext.subarray(from, from + SAMPLE_SIZE);
    if (!saves(zstd(sample, level).length, SAMPLE_SIZE)) return undefined;
  }
  const compressed = zstd(plaintext, level);
  return saves(compressed.length, plaintext.length) ? compressed : undefined;
}

function idBytes(id: string): Buffer {
  const bytes = Buffer.from(id, 'hex');
  if (bytes.length !== 32 || bytes.toString('hex') !== id) throw new Error(`not a blob id: ${id}`);
  return bytes;
}

/**
 * sealBlob compresses (zstd at `level`, default DEFAULT_ZSTD_LEVEL, kept only when it
 * saves at least 3%) and seals a blob: nonce ‖ AES-256-GCM(flag ‖ body) ‖ tag, with the
 * 32-byte ID as AAD. `nonce` is for known-answer tests only: never reuse one.
 */
export function sealBlob(
  keys: Subkeys,
  id: string,
  plaintext: Uint8Array,
  options: { level?: number; nonce?: Buffer } = {},
): Buffer {
  const nonce = options.nonce ?? randomBytes(NONCE_SIZE);
  if (nonce.length !== NONCE_SIZE) throw new Error(`nonce must be ${NONCE_SIZE} bytes`);
  const compressed = compressedOrNot(plaintext, options.level ?? DEFAULT_ZSTD_LEVEL);
  const body = compressed ?? plaintext;
  const cipher = createCipheriv('aes-256-gcm', keys.encryption, nonce).setAAD(idBytes(id));
  return Buffer.concat([
    nonce,
    cipher.update(Buffer.of(compressed === undefined ? STORED : ZSTD)),
    cipher.update(body),
    cipher.final(),
    cipher.getAuthTag(),
  ]);
}

/**
 * openBlob checks a sealed blob's tag, decompresses it and checks that its plaintext
 * has the blob ID `id`. Any failure → CumulusError 'corrupt' naming the blob.
 */
export function openBlob(keys: Subkeys, id: string, sealed: Uint8Array): Buffer {
  const damaged = (reason: string, cause?: unknown) =>
    new CumulusError('corrupt', `blob ${id.slice(0, 8)} is damaged: ${reason}`, {
      hint: 'run `cumulus check --read-data` to find every damaged pack and what depends on it',
      details: { blob: id },
      cause,
    });
  if (sealed.length < SEAL_OVERHEAD) throw damaged('it is too short');
  const view = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  let payload: Buffer;
  try {
    const decipher = createDecipheriv('aes-256-gcm', keys.encryption, view.subarray(0, NONCE_SIZE));
    decipher.setAAD(idBytes(id)).setAuthTag(view.subarray(view.length - TAG_SIZE));
    payload = Buffer.concat([
      decipher.update(view.subarray(NONCE_SIZE, view.length - TAG_SIZE)),
      decipher.final(),
    ]);
  } catch (error) {
    throw damaged('its authentication tag does not match', error);
  }
  let plaintext: Buffer;
  const body = payload.subarray(FLAG_SIZE);
  if (payload[0] === STORED) {
    plaintext = body;
  } else if (payload[0] === ZSTD) {
    try {
      plaintext = zstdDecompressSync(body);
    } catch (error) {
      throw damaged('it does not decompress', error);
    }
  } else {
    throw damaged(`unknown compression ${payload[0]}`);
  }
  if (!timingSafeEqual(Buffer.from(blobId(keys.blobId, plaintext), 'hex'), idBytes(id))) {
    throw damaged('its content does not match its ID');
  }
  return plaintext;
}
