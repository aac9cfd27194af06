/**
 * MemoryBlobStore keeps objects in a Map: a BlobStore for tests of the layers above. It
 * copies on put and get, so callers cannot change stored bytes by accident.
 */
import { randomBytes } from 'node:crypto';
import { CumulusError } from '../core/errors.ts';
import { checkName } from './folder-blob-store.ts';
import type { BlobInfo, BlobStore } from './types.ts';

export class MemoryBlobStore implements BlobStore {
  readonly #objects = new Map<string, { data: Buffer; modifiedAt: number }>();
  readonly #clock: () => number;

  constructor(clock: () => number = Date.now) {
    this.#clock = clock;
  }

  async put(name: string, data: Uint8Array): Promise<void> {
    this.#objects.set(checkName(name), { data: Buffer.from(data), modifiedAt: this.#clock() });
  }

  async get(name: string, range?: { offset: number; length: number }): Promise<Buffer> {
    const object = this.#objects.get(checkName(name));
    if (object === undefined) throw new CumulusError('not_found', `${name} does not exist in the repository`);
    if (range === undefined) return Buffer.from(object.data);
    if (range.offset + range.length > object.data.length) {
      throw new CumulusError('corrupt', `${name} ends before byte ${range.offset + range.length}`);
    }
    return Buffer.from(object.data.subarray(range.offset, range.offset + range.length));
  }

  async size(name: string): Promise<number | undefined> {
    return this.#objects.get(checkName(name))?.data.length;
  }

  async delete(name: string): Promise<void> {
    this.#objects.delete(checkName(name));
  }

  async *list(prefix: string): AsyncIterable<BlobInfo> {
    for (const [name, object] of [...this.#objects]) {
      if (name.startsWith(prefix)) yield { name, size: object.data.length, modifiedAt: object.modifiedAt };
    }
  }

  async probe(): Promise<void> {
    const name = `probe/${randomBytes(8).toString('hex')}`;
    await this.put(name, randomBytes(16));
    await this.delete(name);
  }

  /** corrupt flips one byte of a stored object: for tests of damage detection. */
  corrupt(name: string, offset: number): void {
    const object = this.#objects.get(name);
    if (object === undefined) throw new Error(`no object ${name}`);
    object.data[offset] ^= 0xff;
  }
}
