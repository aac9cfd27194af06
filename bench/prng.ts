/**
 * Deterministic randomness for the benchmark corpus. Everything derives from a string
 * key, so any file can be regenerated on its own, byte for byte, from its key alone.
 */
import { createCipheriv, createHash } from 'node:crypto';

/** Prng is sfc32 seeded from SHA-256 of a key: fast, small state, good enough for test data. */
export class Prng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(key: string) {
    const seed = createHash('sha256').update(key).digest();
    this.#a = seed.readUInt32LE(0);
    this.#b = seed.readUInt32LE(4);
    this.#c = seed.readUInt32LE(8);
    this.#d = seed.readUInt32LE(12);
    // Discard the first outputs: sfc32 mixes its state in the first few rounds.
    for (let i = 0; i < 12; i++) this.uint32();
  }

  /** uint32 returns the next value in [0, 2^32). */
  uint32(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }

  /** float returns a value in [0, 1). */
  float(): number {
    return this.uint32() / 4294967296;
  }

  /** int returns an integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** range returns an integer in [min, max]. */
  range(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }

  /** logUniform returns an integer in [min, max) whose logarithm is uniform: many small, few large. */
  logUniform(min: number, max: number): number {
    return Math.floor(min * (max / min) ** this.float());
  }

  /** skewed returns an index in [0, n) biased towards 0 (a cheap Zipf-like choice). */
  skewed(n: number): number {
    const u = this.float();
    return Math.floor(n * u * u * u);
  }

  /** pick returns a random element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
}

const BLOCK = 1 << 20;
const ZEROS = Buffer.alloc(BLOCK);

/**
 * KeyStream yields incompressible bytes from AES-256-CTR keyed by a string: several GB/s,
 * and the same key always gives the same bytes.
 */
export class KeyStream {
  #cipher;

  constructor(key: string) {
    const aesKey = createHash('sha256').update(`keystream:${key}`).digest();
    this.#cipher = createCipheriv('aes-256-ctr', aesKey, Buffer.alloc(16));
  }

  /** next returns the next `n` bytes of the stream (a fresh buffer). */
  next(n: number): Buffer {
    if (n <= BLOCK) return this.#cipher.update(ZEROS.subarray(0, n));
    const parts: Buffer[] = [];
    for (let left = n; left > 0; left -= BLOCK)
      parts.push(this.#cipher.update(ZEROS.subarray(0, Math.min(left, BLOCK))));
    return Buffer.concat(parts);
  }
}
