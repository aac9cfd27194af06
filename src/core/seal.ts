/**
 * Blob IDs and sealed blobs (docs/format.md, "Blob IDs and blobs"): a blob is named by
 * the HMAC of its plaintext, compressed with zstd when that pays, and sealed with
 * AES-256-GCM bound to its ID, so a blob cannot be swapped for another unnoticed.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createSecretKey,
  type KeyObject,
  randomFillSync,
  timingSafeEqual,
} from 'node:crypto';
import { constants, ZstdDecompress, zstdCompressSync, zstdDecompressSync } from 'node:zlib';
import { CumulusError } from './errors.ts';
import { freeNow } from './free-memory.ts';
import type { Subkeys } from './keys.ts';

const NONCE_SIZE = 12;
const TAG_SIZE = 16;
const FLAG_SIZE = 1;
const STORED = 0;
const ZSTD = 1;

/** SEAL_OVERHEAD is how many bytes sealing adds to a payload: nonce, compression flag, tag. */
export const SEAL_OVERHEAD = NONCE_SIZE + FLAG_SIZE + TAG_SIZE;

/**
 * DEFAULT_ZSTD_LEVEL is zstd level 2, chosen by measurement on this machine (1 MiB blobs,
 * one core; bench/core.ts plus real files from /usr/lib and node_modules): on text level
 * 2 is as fast as level 1 (~400–650 MB/s) and 3–4% smaller; on binaries it is ~15%
 * slower (~390 vs ~460 MB/s) and 6–8% smaller. Level 3, restic's default, costs another
 * 20–25% of speed for 4–5% smaller output. Compression is the slowest stage of a backup,
 * and incompressible media (most bytes of a device) skips it anyway (see SAMPLE_SIZE).
 */
export const DEFAULT_ZSTD_LEVEL = 2;

/**
 * Compression must save at least this fraction of a blob to be kept: below it, the
 * decompression cost on every restore buys next to nothing.
 */
const MIN_SAVING = 0.03;

/**
 * Blobs larger than SAMPLE_FROM are first judged on a SAMPLE_SIZE slice from their
 * middle; when the slice does not compress by MIN_SAVING the whole blob is stored as is.
 * zstd gives up on random data fast but not for free (~2 GB/s against AES-GCM's ~5):
 * with the sample, sealing random 1 MiB blobs ran at 5.4 GB/s instead of 2.8 GB/s, and
 * compressible blobs paid 1/16 of a compression more (6–7%), measured side by side on
 * this machine. The cheap skip wins because most of a device's bytes are media.
 */
const SAMPLE_SIZE = 64 * 1024;
const SAMPLE_FROM = 4 * SAMPLE_SIZE;

const SHA256_BLOCK = 64;
const hmacPads = new WeakMap<Buffer, { inner: Buffer; outer: Buffer }>();

/** padsOf returns the HMAC inner and outer padded keys (RFC 2104) of a key up to one block long. */
function padsOf(key: Buffer): { inner: Buffer; outer: Buffer } {
  let pads = hmacPads.get(key);
  if (pads === undefined) {
    if (key.length > SHA256_BLOCK) throw new Error('blob-id key longer than a SHA-256 block');
    pads = { inner: Buffer.alloc(SHA256_BLOCK, 0x36), outer: Buffer.alloc(SHA256_BLOCK, 0x5c) };
    for (let i = 0; i < key.length; i++) {
      pads.inner[i] ^= key[i];
      pads.outer[i] ^= key[i];
    }
    hmacPads.set(key, pads);
  }
  return pads;
}

/**
 * blobId returns the blob ID of a plaintext: HMAC-SHA256 under the blob-id key, hex.
 * Written out over createHash with the padded keys cached, because createHmac imports
 * its key on every call: ~8 µs, which tripled the cost of hashing a 4 KiB file.
 */
export function blobId(key: Buffer, plaintext: Uint8Array): string {
  const pads = padsOf(key);
  const inner = createHash('sha256').update(pads.inner).update(plaintext).digest();
  return createHash('sha256').update(pads.outer).update(inner).digest('hex');
}

/** The size is known, so zstd sizes its tables for the blob: a small blob costs less to start. */
function zstd(data: Uint8Array, level: number): Buffer {
  return zstdCompressSync(data, {
    params: { [constants.ZSTD_c_compressionLevel]: level, [constants.ZSTD_c_checksumFlag]: 0 },
    pledgedSrcSize: data.length,
  });
}

const cipherKeys = new WeakMap<Uint8Array, KeyObject>();

/** cipherKeyOf imports an encryption key once: createCipheriv with raw bytes imports them on every blob. */
function cipherKeyOf(key: Uint8Array): KeyObject {
  let keyObject = cipherKeys.get(key);
  if (keyObject === undefined) {
    keyObject = createSecretKey(key);
    cipherKeys.set(key, keyObject);
  }
  return keyObject;
}

/** Nonces are cut from a pool of random bytes refilled in one call, not one call per blob. */
const NONCE_POOL = 4096 * NONCE_SIZE;
const noncePool = Buffer.allocUnsafeSlow(NONCE_POOL);
let nonceOffset = NONCE_POOL;

function freshNonce(): Buffer {
  if (nonceOffset === NONCE_POOL) {
    randomFillSync(noncePool);
    nonceOffset = 0;
  }
  const nonce = noncePool.subarray(nonceOffset, nonceOffset + NONCE_SIZE);
  nonceOffset += NONCE_SIZE;
  return nonce;
}

function saves(compressed: number, original: number): boolean {
  return compressed <= original * (1 - MIN_SAVING);
}

/** compressedOrNot returns the zstd frame of `plaintext` when it saves enough, else undefined. */
function compressedOrNot(plaintext: Uint8Array, level: number): Buffer | undefined {
  if (plaintext.length > SAMPLE_FROM) {
    const from = (plaintext.length - SAMPLE_SIZE) >> 1;
    const sample = plaintext.subarray(from, from + SAMPLE_SIZE);
    const trial = zstd(sample, level);
    const worth = saves(trial.length, SAMPLE_SIZE);
    freeNow(trial);
    if (!worth) return undefined;
  }
  const compressed = zstd(plaintext, level);
  if (saves(compressed.length, plaintext.length)) return compressed;
  freeNow(compressed);
  return undefined;
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
  const nonce = options.nonce ?? freshNonce();
  if (nonce.length !== NONCE_SIZE) throw new Error(`nonce must be ${NONCE_SIZE} bytes`);
  const compressed = compressedOrNot(plaintext, options.level ?? DEFAULT_ZSTD_LEVEL);
  const body = compressed ?? plaintext;
  const cipher = createCipheriv('aes-256-gcm', cipherKeyOf(keys.encryption), nonce).setAAD(idBytes(id));
  const flag = cipher.update(Buffer.of(compressed === undefined ? STORED : ZSTD));
  const encrypted = cipher.update(body);
  const sealed = Buffer.concat([nonce, flag, encrypted, cipher.final(), cipher.getAuthTag()]);
  // The steps' buffers are garbage now; freed at once, a worker sealing thousands of small
  // blobs does not pile them up until its next collection.
  freeNow(encrypted);
  if (compressed !== undefined) freeNow(compressed);
  return sealed;
}

/** The part of a ZstdDecompress stream's native handle that zstdDecompressSync drives. */
interface ZstdHandle {
  writeSync(
    flush: number,
    input: Uint8Array,
    inOff: number,
    inLen: number,
    out: Buffer,
    outOff: number,
    outLen: number,
  ): void;
  reset(): void;
}

/**
 * ZstdFrames decompresses frame after frame with one decompression context and one
 * output buffer. zstdDecompressSync builds a stream, a context and buffers for every
 * call, which on blobs of a few KB cost more than the decompression itself. Node has no
 * public synchronous API over a kept context, so this drives the native handle of a
 * ZstdDecompress stream the way zstdDecompressSync does; a handle the stream closed
 * after bad input is replaced. Where Node does not expose that handle it falls back.
 */
class ZstdFrames {
  #stream: ZstdDecompress | undefined;
  #out = Buffer.allocUnsafe(64 << 10);

  /** decompress returns the frame's content: a view of this object's buffer, valid until its next call. */
  decompress(frame: Buffer): Buffer {
    const handle = this.#handle();
    if (handle === undefined) return zstdDecompressSync(frame);
    const stream = this.#stream as ZstdDecompress & { _writeState: Uint32Array };
    let consumed = 0;
    let produced = 0;
    for (;;) {
      const room = this.#out.length - produced;
      handle.writeSync(
        constants.ZSTD_e_end,
        frame,
        consumed,
        frame.length - consumed,
        this.#out,
        produced,
        room,
      );
      if ((stream as unknown as { _handle: unknown })._handle !== handle) {
        this.#stream = undefined;
        throw new Error('zstd could not decompress the frame');
      }
      const [outLeft, inLeft] = stream._writeState;
      produced += room - outLeft;
      consumed = frame.length - inLeft;
      if (outLeft > 0 && inLeft === 0) break;
      const grown = Buffer.allocUnsafe(this.#out.length * 2);
      this.#out.copy(grown, 0, 0, produced);
      this.#out = grown;
    }
    handle.reset();
    return this.#out.subarray(0, produced);
  }

  #handle(): ZstdHandle | undefined {
    if (this.#stream === undefined) {
      this.#stream = new ZstdDecompress();
      // The stream reports bad input as an 'error' event too; decompress throws it already.
      this.#stream.on('error', () => {});
    }
    const handle = (this.#stream as unknown as { _handle?: ZstdHandle })._handle;
    return typeof handle?.writeSync === 'function' ? handle : undefined;
  }
}

/**
 * BlobOpener opens blobs (see openBlob) one after another with the same keys and one kept
 * zstd context. With `reuse`, a decompressed plaintext is a view of the opener's own
 * buffer, valid until its next `open`: for a caller that writes each blob out before
 * opening the next, and so allocates nothing per blob for it.
 */
export class BlobOpener {
  readonly #keys: Subkeys;
  readonly #reuse: boolean;
  readonly #zstd = new ZstdFrames();

  constructor(keys: Subkeys, options: { reuse?: boolean } = {}) {
    this.#keys = keys;
    this.#reuse = options.reuse ?? false;
  }

  open(id: string, sealed: Uint8Array): Buffer {
    const keys = this.#keys;
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
      const decipher = createDecipheriv(
        'aes-256-gcm',
        cipherKeyOf(keys.encryption),
        view.subarray(0, NONCE_SIZE),
      );
      decipher.setAAD(idBytes(id)).setAuthTag(view.subarray(view.length - TAG_SIZE));
      const head = decipher.update(view.subarray(NONCE_SIZE, view.length - TAG_SIZE));
      const tail = decipher.final();
      // GCM returns everything from update(); skip copying a whole blob to append nothing.
      payload = tail.length === 0 ? head : Buffer.concat([head, tail]);
    } catch (error) {
      throw damaged('its authentication tag does not match', error);
    }
    let plaintext: Buffer;
    const body = payload.subarray(FLAG_SIZE);
    if (payload[0] === STORED) {
      plaintext = body;
    } else if (payload[0] === ZSTD) {
      try {
        const frame = this.#zstd.decompress(body);
        plaintext = this.#reuse ? frame : Buffer.from(frame);
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
}

const openers = new WeakMap<Subkeys, BlobOpener>();

/**
 * openBlob checks a sealed blob's tag, decompresses it and checks that its plaintext
 * has the blob ID `id`. Any failure → CumulusError 'corrupt' naming the blob. The
 * plaintext is the caller's to keep.
 */
export function openBlob(keys: Subkeys, id: string, sealed: Uint8Array): Buffer {
  let opener = openers.get(keys);
  if (opener === undefined) {
    opener = new BlobOpener(keys);
    openers.set(keys, opener);
  }
  return opener.open(id, sealed);
}
