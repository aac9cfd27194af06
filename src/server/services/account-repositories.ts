/**
 * The seam between the account server and the per-account repositories. Each account's
 * backups live in their own repository under `DATA/accounts/<accountId>/` (the store's
 * RepositoryStore over its SQLite meta store and folder blob store); the server only asks
 * the questions below. The repository API task implements AccountRepositories over the
 * store; until then PendingAccountRepositories answers as if every account were empty.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, statfs, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** AccountRepository is what the account server needs from one account's repository. */
export interface AccountRepository {
  /** usedBytes is what the quota counts: stored bytes the account's snapshots reference, each blob once. */
  usedBytes(): Promise<number>;
  /** deleteDeviceBackups forgets every snapshot of a device; garbage collection frees the space. */
  deleteDeviceBackups(deviceId: string): Promise<void>;
}

/** StorageHealth is the blob storage probe's finding: whether a write, read and delete worked, and free space. */
export interface StorageHealth {
  /** Bytes free where the repositories live, when the storage can say (a folder can; object storage cannot). */
  freeBytes?: number;
  totalBytes?: number;
}

export interface AccountRepositories {
  forAccount(accountId: string): Promise<AccountRepository>;
  /**
   * probeStorage writes a small object where account data lives, reads it back and
   * deletes it; it throws when any of that fails. The status page's blob-storage light.
   */
  probeStorage(): Promise<StorageHealth>;
  close(): Promise<void>;
}

/** accountsRoot is the folder that holds every account's repository. */
export function accountsRoot(dataDir: string): string {
  return join(dataDir, 'accounts');
}

const EMPTY: AccountRepository = {
  usedBytes: async () => 0,
  deleteDeviceBackups: async () => {},
};

/** PendingAccountRepositories stands in until the repository API lands: every account is empty. */
export class PendingAccountRepositories implements AccountRepositories {
  readonly #root: string;

  constructor(dataDir: string) {
    this.#root = accountsRoot(dataDir);
  }

  async forAccount(_accountId: string): Promise<AccountRepository> {
    return EMPTY;
  }

  async probeStorage(): Promise<StorageHealth> {
    await mkdir(this.#root, { recursive: true });
    const name = join(this.#root, `.probe-${randomBytes(8).toString('hex')}`);
    const payload = randomBytes(32);
    try {
      await writeFile(name, payload);
      if (!(await readFile(name)).equals(payload)) throw new Error('the probe read back different bytes');
    } finally {
      await rm(name, { force: true });
    }
    const stats = await statfs(this.#root);
    return { freeBytes: stats.bavail * stats.bsize, totalBytes: stats.blocks * stats.bsize };
  }

  async close(): Promise<void> {}
}
