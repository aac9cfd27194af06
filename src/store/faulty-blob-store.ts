/**
 * FaultyBlobStore wraps a BlobStore and injects the faults a real disk or network has, for
 * tests of the layers above (as kopia's blobtesting fault store): writes that fail with
 * ENOSPC, a write that fails every Nth time, and slow reads. Faults are switched at run
 * time; with none set it passes every call through unchanged.
 */
import { fromSystemError } from '../core/errors.ts';
import type { BlobInfo, BlobStore } from './types.ts';

export interface Faults {
  /** The next `n` puts fail with ENOSPC before writing anything. */
  noSpaceFor?: number;
  /** Every Nth put (counted from when it was set) fails with EIO before writing anything. */
  failEvery?: number;
  /** Every get waits this long first. */
  readDelayMs?: number;
}

function systemError(code: string, message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: ${message}`), { code });
}

export class FaultyBlobStore implements BlobStore {
  readonly #inner: BlobStore;
  faults: Faults = {};
  #puts = 0;

  constructor(inner: BlobStore) {
    this.#inner = inner;
  }

  /** set replaces the faults and restarts the put count. */
  set(faults: Faults): void {
    this.faults = { ...faults };
    this.#puts = 0;
  }

  async put(name: string, data: Uint8Array): Promise<void> {
    this.#puts++;
    const { noSpaceFor = 0, failEvery } = this.faults;
    if (noSpaceFor > 0) {
      this.faults.noSpaceFor = noSpaceFor - 1;
      // As FolderBlobStore reports a full disk.
      throw fromSystemError(systemError('ENOSPC', `no space left on device, write ${name}`), name);
    }
    if (failEvery !== undefined && this.#puts % failEvery === 0)
      throw systemError('EIO', `i/o error, write ${name}`);
    return this.#inner.put(name, data);
  }

  async get(name: string, range?: { offset: number; length: number }): Promise<Buffer> {
    const delay = this.faults.readDelayMs ?? 0;
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    return this.#inner.get(name, range);
  }

  size(name: string): Promise<number | undefined> {
    return this.#inner.size(name);
  }

  delete(name: string): Promise<void> {
    return this.#inner.delete(name);
  }

  list(prefix: string): AsyncIterable<BlobInfo> {
    return this.#inner.list(prefix);
  }

  probe(): Promise<void> {
    return this.#inner.probe();
  }
}
