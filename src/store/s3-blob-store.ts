/**
 * S3BlobStore keeps objects in an S3-compatible bucket (AWS S3, MinIO, Garage, Ceph RGW):
 * the name `packs/ab/<id>` is the key `<prefix>/packs/ab/<id>`. A PUT is atomic on S3 (an
 * object appears whole or not at all), so there is no temporary object; packs are named
 * by their hash, so each key is written once with the same bytes. After each PUT the
 * object's size is read back, so a write the storage acknowledged but did not keep is
 * caught before the index names it.
 *
 * The client (s3-client.ts) retries requests that fail with 5xx, throttling or a dropped
 * connection, with backoff. A read whose body breaks off midway is read again here, as the
 * client retries only until the response headers arrive. A missing key is 'not_found',
 * a range past the end 'corrupt' (as FolderBlobStore), and storage that stays unavailable
 * 'network'.
 */
import type { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  type GetObjectCommandOutput,
  HeadObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { CumulusError, isCumulusError } from '../core/errors.ts';
import { checkName, notFound } from './folder-blob-store.ts';
import { roundTrip } from './probe.ts';
import type { BlobInfo, BlobStore } from './types.ts';

/** How often a read whose body broke off is tried in all, and the first wait between tries. */
const READ_ATTEMPTS = 4;
const READ_BACKOFF_MS = 200;

export interface S3BlobStoreOptions {
  bucket: string;
  /** Key prefix without leading or trailing slash ('' for the bucket's root). */
  prefix: string;
  /** Tries of a read whose body broke off (default 4). */
  readAttempts?: number;
}

function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

function isNoSuchKey(error: unknown): boolean {
  const name = (error as Error | undefined)?.name;
  return name === 'NoSuchKey' || name === 'NotFound' || statusOf(error) === 404;
}

const HINTS: Record<string, string> = {
  NoSuchBucket: 'create the bucket, or correct CUMULUS_BLOB_STORE',
  AccessDenied: 'give the access key read, write, list and delete rights on the bucket',
  InvalidAccessKeyId: 'check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY',
  SignatureDoesNotMatch: 'check AWS_SECRET_ACCESS_KEY and AWS_REGION',
  CredentialsProviderError: 'set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY',
};

/**
 * storageError turns a failure the client gave up on into a CumulusError that names the
 * bucket and the S3 error, never a credential.
 */
export function storageError(error: unknown, bucket: string, what: string): CumulusError {
  if (isCumulusError(error)) return error;
  const name = (error as Error | undefined)?.name ?? 'Error';
  const status = statusOf(error);
  const message = (error as Error | undefined)?.message ?? String(error);
  return new CumulusError(
    'network',
    `object storage (bucket ${bucket}) failed to ${what}: ${name}${status ? ` (HTTP ${status})` : ''}: ${message}`,
    {
      hint:
        HINTS[name] ??
        'check that the object storage is reachable (AWS_ENDPOINT_URL) and try again; nothing stored was lost',
      cause: error,
    },
  );
}

export class S3BlobStore implements BlobStore {
  readonly #client: S3Client;
  readonly bucket: string;
  readonly prefix: string;
  readonly #readAttempts: number;

  constructor(client: S3Client, options: S3BlobStoreOptions) {
    this.#client = client;
    this.bucket = options.bucket;
    this.prefix = options.prefix;
    this.#readAttempts = options.readAttempts ?? READ_ATTEMPTS;
  }

  #key(name: string): string {
    checkName(name);
    return this.prefix === '' ? name : `${this.prefix}/${name}`;
  }

  async put(name: string, data: Uint8Array): Promise<void> {
    const Key = this.#key(name);
    try {
      // One more PUT when the read-back finds another object, or none (a lost write).
      for (let attempt = 1; ; attempt++) {
        const written = await this.#client.send(
          new PutObjectCommand({ Bucket: this.bucket, Key, Body: data, ContentLength: data.length }),
        );
        const stored = await this.#head(Key);
        const same =
          stored !== undefined &&
          stored.size === data.length &&
          (written.ETag === undefined || stored.etag === undefined || written.ETag === stored.etag);
        if (same) return;
        if (attempt === 2) {
          throw new CumulusError(
            'network',
            `object storage (bucket ${this.bucket}) acknowledged ${name} but does not hold what was written`,
            { hint: 'the storage loses writes: check it; nothing refers to the lost object' },
          );
        }
      }
    } catch (error) {
      throw storageError(error, this.bucket, `write ${name}`);
    }
  }

  async #head(Key: string): Promise<{ size: number; etag?: string } | undefined> {
    try {
      const head = await this.#client.send(new HeadObjectCommand({ Bucket: this.bucket, Key }));
      return { size: head.ContentLength ?? 0, ...(head.ETag ? { etag: head.ETag } : {}) };
    } catch (error) {
      if (isNoSuchKey(error)) return undefined;
      throw error;
    }
  }

  async get(name: string, range?: { offset: number; length: number }): Promise<Buffer> {
    const Key = this.#key(name);
    if (range !== undefined && range.length === 0) {
      const size = await this.size(name);
      if (size === undefined) throw notFound(name);
      if (range.offset > size) throw this.#short(name, range);
      return Buffer.alloc(0);
    }
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#read(name, Key, range);
      } catch (error) {
        if (!isBrokenBody(error) || attempt >= this.#readAttempts)
          throw storageError(error, this.bucket, `read ${name}`);
        await new Promise((resolve) => setTimeout(resolve, READ_BACKOFF_MS * 2 ** (attempt - 1)));
      }
    }
  }

  /** #read reads the object (or the range) into one buffer of its final size. */
  async #read(name: string, Key: string, range: { offset: number; length: number } | undefined) {
    let response: GetObjectCommandOutput;
    try {
      response = await this.#client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key,
          ...(range ? { Range: `bytes=${range.offset}-${range.offset + range.length - 1}` } : {}),
        }),
      );
    } catch (error) {
      if (isNoSuchKey(error)) throw notFound(name, error);
      if (statusOf(error) === 416 && range !== undefined) throw this.#short(name, range);
      throw error;
    }
    const body = response.Body as Readable;
    const length = response.ContentLength ?? 0;
    if (range !== undefined && length < range.length) {
      body.destroy();
      throw this.#short(name, range);
    }
    const buffer = Buffer.allocUnsafe(range?.length ?? length);
    let done = 0;
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        if (done + chunk.length > buffer.length) throw new BrokenBody(`${name}: more bytes than announced`);
        chunk.copy(buffer, done);
        done += chunk.length;
      }
    } catch (error) {
      body.destroy();
      if (error instanceof BrokenBody) throw error;
      throw new BrokenBody(`${name}: the connection broke after ${done} bytes`, error);
    }
    if (done !== buffer.length) throw new BrokenBody(`${name}: ${done} of ${buffer.length} bytes arrived`);
    return buffer;
  }

  #short(name: string, range: { offset: number; length: number }): CumulusError {
    return new CumulusError('corrupt', `${name} ends before byte ${range.offset + range.length}`, {
      hint: 'run `cumulus check` to find damaged packs',
    });
  }

  async size(name: string): Promise<number | undefined> {
    try {
      return (await this.#head(this.#key(name)))?.size;
    } catch (error) {
      throw storageError(error, this.bucket, `look up ${name}`);
    }
  }

  async delete(name: string): Promise<void> {
    try {
      await this.#client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.#key(name) }));
    } catch (error) {
      if (isNoSuchKey(error)) return;
      throw storageError(error, this.bucket, `delete ${name}`);
    }
  }

  async *list(prefix: string): AsyncIterable<BlobInfo> {
    const base = this.prefix === '' ? '' : `${this.prefix}/`;
    let token: string | undefined;
    do {
      let page: ListObjectsV2CommandOutput;
      try {
        page = await this.#client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: base + prefix, ContinuationToken: token }),
        );
      } catch (error) {
        throw storageError(error, this.bucket, `list ${prefix || 'the objects'}`);
      }
      for (const object of page.Contents ?? []) {
        if (object.Key === undefined || !object.Key.startsWith(base)) continue;
        yield {
          name: object.Key.slice(base.length),
          size: object.Size ?? 0,
          modifiedAt: object.LastModified?.getTime() ?? 0,
        };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  probe(): Promise<void> {
    return roundTrip(this, `bucket ${this.bucket}`);
  }
}

/** BrokenBody is a response body that ended early or broke off: the read is tried again. */
class BrokenBody extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'BrokenBody';
  }
}

function isBrokenBody(error: unknown): boolean {
  return error instanceof BrokenBody;
}
