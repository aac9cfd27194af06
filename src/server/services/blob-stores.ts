/**
 * Where the server keeps every account's packs: in each account's folder under
 * `DATA/accounts/<accountId>/` (the default), or in an S3-compatible bucket under
 * `prefix/<accountId>/` (CUMULUS_BLOB_STORE=s3://bucket/prefix). Either way an account's
 * objects are named the same inside its part (packs/ab/<id>, forgotten/<id>).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, statfs, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { FolderBlobStore } from '../../store/folder-blob-store.ts';
import { S3BlobStore } from '../../store/s3-blob-store.ts';
import { describeS3, type S3Settings, s3Client } from '../../store/s3-client.ts';
import type { BlobStore } from '../../store/types.ts';

/** BlobStoreConfig says where packs live: the data folder, or a bucket. */
export type BlobStoreConfig = { kind: 'folder' } | { kind: 's3'; settings: S3Settings };

/** StorageHealth is the blob storage probe's finding: whether a write, read and delete worked, and free space. */
export interface StorageHealth {
  /** Bytes free where the repositories live, when the storage can say (a folder can; object storage cannot). */
  freeBytes?: number;
  totalBytes?: number;
}

/** AccountBlobStores opens each account's BlobStore, probes the storage and says where it is. */
export interface AccountBlobStores {
  /** forAccount is the BlobStore of one account whose repository folder is `dir`. */
  forAccount(accountId: string, dir: string): BlobStore;
  /** probe writes, reads back and deletes a small object; it throws when any of that fails. */
  probe(): Promise<StorageHealth>;
  /** Where packs live, for status lines and logs: never a credential. */
  readonly description: string;
  close(): void;
}

/** probeFolder writes, reads back and deletes a small file in `root`, then reports its free space. */
export async function probeFolder(root: string): Promise<StorageHealth> {
  await mkdir(root, { recursive: true });
  const name = join(root, `.probe-${randomBytes(8).toString('hex')}`);
  const payload = randomBytes(32);
  try {
    await writeFile(name, payload);
    if (!(await readFile(name)).equals(payload)) throw new Error('the probe read back different bytes');
  } finally {
    await rm(name, { force: true });
  }
  const stats = await statfs(root);
  return { freeBytes: stats.bavail * stats.bsize, totalBytes: stats.blocks * stats.bsize };
}

class FolderBlobStores implements AccountBlobStores {
  readonly #root: string;
  readonly description: string;

  constructor(root: string) {
    this.#root = root;
    this.description = `folder ${root}`;
  }

  forAccount(_accountId: string, dir: string): BlobStore {
    return new FolderBlobStore(dir);
  }

  probe(): Promise<StorageHealth> {
    return probeFolder(this.#root);
  }

  close(): void {}
}

class S3BlobStores implements AccountBlobStores {
  readonly #settings: S3Settings;
  readonly #client: S3Client;
  readonly description: string;

  constructor(settings: S3Settings) {
    this.#settings = settings;
    this.#client = s3Client(settings);
    this.description = describeS3(settings);
  }

  #at(prefix: string): S3BlobStore {
    const full = [this.#settings.prefix, prefix].filter((p) => p !== '').join('/');
    return new S3BlobStore(this.#client, { bucket: this.#settings.bucket, prefix: full });
  }

  forAccount(accountId: string): BlobStore {
    return this.#at(accountId);
  }

  async probe(): Promise<StorageHealth> {
    await this.#at('').probe();
    return {};
  }

  close(): void {
    this.#client.destroy();
  }
}

/** openBlobStores opens the configured storage; `accountsRoot` holds the folders of the default. */
export function openBlobStores(config: BlobStoreConfig, accountsRoot: string): AccountBlobStores {
  return config.kind === 's3' ? new S3BlobStores(config.settings) : new FolderBlobStores(accountsRoot);
}
