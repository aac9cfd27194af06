/**
 * FileSaver hands the files a backup must read to the chunk pool: a file larger than the
 * minimum chunk alone (streamed in windows), smaller ones in batches of up to
 * SMALL_BATCH_FILES files / SMALL_BATCH_BYTES, gathered across directories so that a tree
 * of small folders still costs a few round trips per thousand files, not one per folder.
 */
import type { ChunkPool } from './chunk-pool.ts';
import type { FileResult } from './worker-protocol.ts';

export const SMALL_BATCH_FILES = 256;
export const SMALL_BATCH_BYTES = 4 << 20;

interface Batch<T> {
  files: { path: string; item: T }[];
  bytes: number;
  done: PromiseWithResolvers<void>;
}

export class FileSaver<T> {
  readonly #pool: () => Pick<ChunkPool, 'chunk'>;
  readonly #largeFrom: number;
  readonly #onFile: (item: T, result: FileResult) => void;
  #batch: Batch<T> | undefined;

  /**
   * @param pool the chunk pool, made on first use
   * @param largeFrom files larger than this go alone
   * @param onFile runs with each file's result, before the promise `save` returned resolves
   */
  constructor(
    pool: () => Pick<ChunkPool, 'chunk'>,
    largeFrom: number,
    onFile: (item: T, result: FileResult) => void,
  ) {
    this.#pool = pool;
    this.#largeFrom = largeFrom;
    this.#onFile = onFile;
  }

  /**
   * save queues a file of `size` bytes (as listed) and returns, once it is queued, the
   * promise that it is done. A small file's promise is its batch's: it settles only after
   * `flush` (or a full batch) sends the batch, so call `flush` before awaiting it.
   */
  async save(path: string, size: number, item: T): Promise<{ done: Promise<void> }> {
    if (size > this.#largeFrom) {
      const { result } = await this.#pool().chunk([path], true);
      return { done: result.then(([r]) => this.#onFile(item, r)) };
    }
    this.#batch ??= { files: [], bytes: 0, done: Promise.withResolvers<void>() };
    const batch = this.#batch;
    batch.files.push({ path, item });
    batch.bytes += size;
    if (batch.files.length >= SMALL_BATCH_FILES || batch.bytes >= SMALL_BATCH_BYTES) await this.flush();
    return { done: batch.done.promise };
  }

  /** flush sends the batch being gathered. */
  async flush(): Promise<void> {
    const batch = this.#batch;
    if (batch === undefined) return;
    this.#batch = undefined;
    try {
      const { result } = await this.#pool().chunk(
        batch.files.map((f) => f.path),
        false,
      );
      result
        .then((results) => {
          for (const [i, f] of batch.files.entries()) this.#onFile(f.item, results[i]);
        })
        .then(batch.done.resolve, batch.done.reject);
    } catch (error) {
      batch.done.reject(error);
      throw error;
    }
  }
}
