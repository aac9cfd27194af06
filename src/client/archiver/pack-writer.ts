/**
 * PackWriter gathers sealed blobs into packs of about `targetSize` bytes and stores each
 * finished pack, a few at a time. Until `flush` resolves, a blob added here is not yet
 * durable: the archiver commits a snapshot only after it.
 */
import { type BlobType, PackBuilder } from '../../core/pack.ts';
import type { Repository } from '../repository.ts';

export const DEFAULT_PACK_SIZE = 16 << 20;

export class PackWriter {
  readonly #repo: Pick<Repository, 'putPack'>;
  readonly #targetSize: number;
  readonly #maxUploads: number;
  readonly #onStored: (ids: string[], bytes: number) => void;
  #builder = new PackBuilder();
  #uploads = new Set<Promise<void>>();
  #failure: unknown;
  packs = 0;
  bytes = 0;

  constructor(
    repo: Pick<Repository, 'putPack'>,
    options: {
      targetSize?: number;
      maxUploads?: number;
      onStored?: (ids: string[], bytes: number) => void;
    } = {},
  ) {
    this.#repo = repo;
    this.#targetSize = options.targetSize ?? DEFAULT_PACK_SIZE;
    this.#maxUploads = options.maxUploads ?? 2;
    this.#onStored = options.onStored ?? (() => {});
  }

  /** add appends a blob; when the pack is full it is sent, waiting if too many are in flight. */
  async add(type: BlobType, id: string, sealed: Uint8Array): Promise<void> {
    this.#builder.add(type, id, sealed);
    if (this.#builder.size >= this.#targetSize) await this.#send();
  }

  /** flush sends the last pack and waits until every pack is stored. */
  async flush(): Promise<void> {
    if (this.#builder.count > 0) await this.#send();
    while (this.#uploads.size > 0) await Promise.race(this.#uploads);
    if (this.#failure !== undefined) throw this.#failure;
  }

  async #send(): Promise<void> {
    if (this.#failure !== undefined) throw this.#failure;
    const { bytes, id, entries } = this.#builder.finish();
    this.#builder = new PackBuilder();
    const upload = this.#repo.putPack(bytes, id).then(
      () => {
        this.packs++;
        this.bytes += bytes.length;
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
