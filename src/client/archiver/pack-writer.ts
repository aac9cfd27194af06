/**
 * PackWriter gathers sealed blobs into packs of at most `targetSize` bytes (a single
 * larger blob gets a pack of its own) and stores each finished pack, a few at a time.
 * Until `flush` resolves, a blob added here is not yet durable: the archiver commits a
 * snapshot only after it.
 *
 * Memory: each pack is built in place in a buffer of `targetSize` bytes, and the buffer
 * of a stored pack is reused for the next one. A pack fills only while fewer than
 * `maxUploads` are uploading, so the writer holds at most `maxUploads` buffers whatever
 * the size of the backup, and leaves no pack behind for the garbage collector.
 */
import { type BlobType, PackBuilder } from '../../core/pack.ts';
import type { PackIngest } from '../repository.ts';

export const DEFAULT_PACK_SIZE = 16 << 20;
export const DEFAULT_MAX_UPLOADS = 2;

export class PackWriter {
  readonly #repo: Pick<PackIngest, 'putPack'>;
  readonly #targetSize: number;
  readonly #maxUploads: number;
  readonly #onStored: (ids: string[], bytes: number) => void;
  /** Buffers of stored packs, ready for the next ones. */
  readonly #spare: Buffer[] = [];
  #builder: PackBuilder | undefined;
  #uploads = new Set<Promise<void>>();
  #failure: unknown;
  packs = 0;
  bytes = 0;
  /** buffers counts the pack buffers this writer allocated (at most maxUploads). */
  buffers = 0;

  constructor(
    repo: Pick<PackIngest, 'putPack'>,
    options: {
      targetSize?: number;
      maxUploads?: number;
      onStored?: (ids: string[], bytes: number) => void;
    } = {},
  ) {
    this.#repo = repo;
    this.#targetSize = options.targetSize ?? DEFAULT_PACK_SIZE;
    this.#maxUploads = options.maxUploads ?? DEFAULT_MAX_UPLOADS;
    this.#onStored = options.onStored ?? (() => {});
  }

  /**
   * add copies a blob into the current pack (the caller may reuse `sealed` once it
   * resolves). A pack the blob would take past the target size is sent first, waiting
   * while too many are in flight.
   */
  async add(type: BlobType, id: string, sealed: Uint8Array): Promise<void> {
    if (this.#builder !== undefined && this.#builder.sizeWith(sealed.length) > this.#targetSize)
      await this.#send();
    this.#builder ??= new PackBuilder(this.#spare.pop() ?? this.#allocate());
    this.#builder.add(type, id, sealed);
  }

  /** flush sends the last pack and waits until every pack is stored. */
  async flush(): Promise<void> {
    if (this.#builder !== undefined) await this.#send();
    while (this.#uploads.size > 0) await Promise.race(this.#uploads);
    if (this.#failure !== undefined) throw this.#failure;
  }

  #allocate(): Buffer {
    this.buffers++;
    return Buffer.allocUnsafeSlow(this.#targetSize);
  }

  async #send(): Promise<void> {
    if (this.#failure !== undefined) throw this.#failure;
    const { bytes, id, entries } = this.#builder!.finish();
    this.#builder = undefined;
    const upload = this.#repo.putPack(bytes, id).then(
      () => {
        this.packs++;
        this.bytes += bytes.length;
        // A pack that outgrew its buffer (one huge blob) moved to a larger one: not kept.
        if (bytes.buffer.byteLength === this.#targetSize)
          this.#spare.push(Buffer.from(bytes.buffer, 0, this.#targetSize));
        this.#onStored(
          entries.map((e) => e.id),
          bytes.length,
        );
      },
      (error: unknown) => {
        this.#failure ??= error;
      },
    );
    const tracked = upload.finally(() => this.#uploads.delete(tracked));
    this.#uploads.add(tracked);
    while (this.#uploads.size >= this.#maxUploads) await Promise.race(this.#uploads);
    if (this.#failure !== undefined) throw this.#failure;
  }
}
