/**
 * The seam between the account server and the per-account repositories. Each account's
 * backups live in their own repository (the store's RepositoryStore over a meta store,
 * meta-stores.ts, and a blob store, blob-stores.ts: by default both in
 * `DATA/accounts/<accountId>/`); the server only asks
 * the questions below. StoreAccountRepositories answers them over the store and also
 * hands the repository API each account's AccountStore; PendingAccountRepositories
 * answers as if every account were empty (tests of the account server use it).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { RepositoryStore } from '../../store/repository-store.ts';
import type { GcReport } from '../../store/types.ts';
import { type AccountBlobStores, openBlobStores, probeFolder, type StorageHealth } from './blob-stores.ts';
import { type AccountMetaStores, openMetaStores } from './meta-stores.ts';

/** AccountRepository is what the account server needs from one account's repository. */
export interface AccountRepository {
  /** usedBytes is what the quota counts: stored bytes the account's snapshots reference, each blob once. */
  usedBytes(): Promise<number>;
  /** deleteDeviceBackups forgets every snapshot of a device; garbage collection frees the space. */
  deleteDeviceBackups(deviceId: string): Promise<void>;
}

/** GcTotals adds up one collection over every account. */
export interface GcTotals {
  accounts: number;
  freedBytes: number;
  deletedPacks: number;
  repackedPacks: number;
}

export interface AccountRepositories {
  forAccount(accountId: string): Promise<AccountRepository>;
  /** accountIds lists the accounts that have a repository. */
  accountIds(): Promise<string[]>;
  /**
   * collectAll collects the garbage of every account, one after another: uploads never
   * committed (once older than every live write session and the grace), copies of blobs
   * indexed elsewhere, and what deletes left. The maintenance scheduler's 'gc' job.
   */
  collectAll(): Promise<GcTotals>;
  /**
   * probeStorage writes a small object where account data lives, reads it back and
   * deletes it; it throws when any of that fails. The status page's blob-storage light.
   */
  probeStorage(): Promise<StorageHealth>;
  /** Where account packs live, for status lines: never a credential. */
  readonly blobStorage: string;
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

/** PendingAccountRepositories answers as if every account were empty: tests of the account server that need no repository use it. */
export class PendingAccountRepositories implements AccountRepositories {
  readonly #root: string;

  constructor(dataDir: string) {
    this.#root = accountsRoot(dataDir);
  }

  async forAccount(_accountId: string): Promise<AccountRepository> {
    return EMPTY;
  }

  async accountIds(): Promise<string[]> {
    return [];
  }

  async collectAll(): Promise<GcTotals> {
    return { accounts: 0, freedBytes: 0, deletedPacks: 0, repackedPacks: 0 };
  }

  probeStorage(): Promise<StorageHealth> {
    return probeFolder(this.#root);
  }

  get blobStorage(): string {
    return `folder ${this.#root}`;
  }

  async close(): Promise<void> {}
}

/**
 * AccountStore is one account's repository: the keyless RepositoryStore, plus garbage
 * collection run one at a time per account (deletes trigger it; uploads never wait for it).
 */
export class AccountStore implements AccountRepository {
  readonly store: RepositoryStore;
  readonly #graceMs: number;
  #collecting: Promise<GcReport | undefined> = Promise.resolve(undefined);

  constructor(store: RepositoryStore, graceMs: number) {
    this.store = store;
    this.#graceMs = graceMs;
  }

  async usedBytes(): Promise<number> {
    return (await this.store.usage()).referencedBytes;
  }

  async deleteDeviceBackups(deviceId: string): Promise<void> {
    await this.store.deleteDevice(deviceId);
    void this.collectGarbage().catch(() => {});
  }

  /**
   * collectGarbage runs the store's gc after any run already going: blobs no snapshot
   * references, untouched for the grace period and older than every live write session, go.
   */
  collectGarbage(options: { graceMs?: number } = {}): Promise<GcReport | undefined> {
    const graceMs = options.graceMs ?? this.#graceMs;
    const run = this.#collecting.catch(() => undefined).then(() => this.store.gc({ graceMs }));
    this.#collecting = run;
    return run;
  }

  /** idle resolves once the garbage collection under way (if any) is over. */
  async idle(): Promise<void> {
    await this.#collecting.catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.idle();
    await this.store.close();
  }
}

const ACCOUNT_ID = /^[0-9a-f]{32}$/;

/**
 * StoreAccountRepositories opens each account's repository on first use, in
 * `DATA/accounts/<accountId>/` (index.sqlite and packs/), and keeps it open until close.
 */
export class StoreAccountRepositories implements AccountRepositories {
  readonly #root: string;
  readonly #graceMs: number | undefined;
  readonly #clock: () => number;
  readonly #blobs: AccountBlobStores;
  readonly #metas: AccountMetaStores;
  readonly #open = new Map<string, Promise<AccountStore>>();

  /**
   * graceMs is how long gc keeps an unreferenced blob after it was last touched (default
   * 15 minutes); clock dates touches and write sessions (the server's clock); `blobs` says
   * where packs live and `metas` where their index lives (default: each account's folder).
   */
  constructor(
    dataDir: string,
    options: {
      graceMs?: number;
      clock?: () => number;
      blobs?: AccountBlobStores;
      metas?: AccountMetaStores;
    } = {},
  ) {
    this.#root = accountsRoot(dataDir);
    this.#blobs = options.blobs ?? openBlobStores({ kind: 'folder' }, this.#root);
    this.#metas = options.metas ?? openMetaStores(undefined, this.#root);
    this.#graceMs = options.graceMs;
    this.#clock = options.clock ?? Date.now;
  }

  /** accountIds lists the accounts with a repository (on PostgreSQL, those any replica made). */
  accountIds(): Promise<string[]> {
    return this.#metas.accounts();
  }

  /** Without it an account that only ever uploads would keep its garbage for good. */
  async collectAll(): Promise<GcTotals> {
    const totals: GcTotals = { accounts: 0, freedBytes: 0, deletedPacks: 0, repackedPacks: 0 };
    for (const id of await this.accountIds()) {
      const report = await (await this.forAccount(id)).collectGarbage();
      totals.accounts++;
      totals.freedBytes += report?.freedBytes ?? 0;
      totals.deletedPacks += report?.deletedPacks ?? 0;
      totals.repackedPacks += report?.repackedPacks ?? 0;
    }
    return totals;
  }

  forAccount(accountId: string): Promise<AccountStore> {
    if (!ACCOUNT_ID.test(accountId)) throw new Error(`not an account ID: ${accountId}`);
    let opened = this.#open.get(accountId);
    if (opened === undefined) {
      opened = this.#openStore(accountId);
      this.#open.set(accountId, opened);
      opened.catch(() => this.#open.delete(accountId));
    }
    return opened;
  }

  async #openStore(accountId: string): Promise<AccountStore> {
    const dir = join(this.#root, accountId);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const store = new RepositoryStore(
      this.#metas.forAccount(accountId, dir),
      this.#blobs.forAccount(accountId, dir),
      this.#clock,
    );
    return new AccountStore(store, this.#graceMs ?? DEFAULT_SERVER_GRACE_MS);
  }

  probeStorage(): Promise<StorageHealth> {
    return this.#blobs.probe();
  }

  get blobStorage(): string {
    return this.#blobs.description;
  }

  async close(): Promise<void> {
    const stores = await Promise.allSettled(this.#open.values());
    this.#open.clear();
    for (const opened of stores) if (opened.status === 'fulfilled') await opened.value.close();
    this.#blobs.close();
  }
}

/** DEFAULT_SERVER_GRACE_MS: an upload not yet committed is safe from gc for this long after its last touch. */
export const DEFAULT_SERVER_GRACE_MS = 15 * 60_000;

/** accountStoreOf narrows the repositories to ones backed by the store (the repository API needs it). */
export async function accountStoreOf(
  repositories: AccountRepositories,
  accountId: string,
): Promise<AccountStore> {
  const repository = await repositories.forAccount(accountId);
  if (!(repository instanceof AccountStore))
    throw new Error('this server was started without account repositories');
  return repository;
}

/** DEFAULT_COLLECT_EVERY_MS is how often the maintenance scheduler collects every account's garbage. */
export const DEFAULT_COLLECT_EVERY_MS = 60 * 60_000;
