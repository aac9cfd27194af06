/**
 * LocalRepository is the Repository port over a folder (`--repo DIR`): a RepositoryStore
 * in this process, with a FolderBlobStore for `packs/`, `forgotten/` and `keys/` and a
 * SqliteMetaStore in `index.sqlite`. Layout: docs/format.md, "Layout of a local
 * repository folder". Key files are opaque text here; core/keys.ts reads them.
 */
import { mkdir, readFile, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { INDEX_PAGE } from '../api/repository.ts';
import { CumulusError } from '../core/errors.ts';
import type { BlobType } from '../core/pack.ts';
import { FolderBlobStore } from '../store/folder-blob-store.ts';
import { RepositoryStore } from '../store/repository-store.ts';
import { SqliteMetaStore } from '../store/sqlite-meta-store.ts';
import type {
  BlobStore,
  GcOptions,
  GcReport,
  IndexDelta,
  SnapshotCommit,
  SnapshotRecord,
  UsageReport,
} from '../store/types.ts';
import type {
  BlobRead,
  IndexRebuild,
  Maintenance,
  PackCheck,
  Repository,
  RepositoryConfig,
  WriteSession,
} from './repository.ts';

const KEY_ID = /^[0-9a-f]{16,64}$/;
const INDEX_FILE = 'index.sqlite';

function keyName(id: string): string {
  if (!KEY_ID.test(id)) throw new CumulusError('invalid_input', `not a key ID: ${JSON.stringify(id)}`);
  return `keys/${id}.json`;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

export interface LocalRepositoryOptions {
  wrapPacks?: (files: BlobStore) => BlobStore;
}

export class LocalRepository implements Repository, Maintenance, IndexRebuild {
  readonly location: string;
  readonly #store: RepositoryStore;
  readonly #files: FolderBlobStore;
  readonly #config: RepositoryConfig;

  /**
   * The constructor opens the store of an existing folder; use createLocalRepository or
   * openLocalRepository. `wrapPacks` wraps the BlobStore the store's packs go through (a
   * cross-cutting concern: fault injection in tests); key files bypass it.
   */
  constructor(dir: string, config: RepositoryConfig, options: LocalRepositoryOptions = {}) {
    this.location = dir;
    this.#config = config;
    this.#files = new FolderBlobStore(dir);
    const packs = options.wrapPacks?.(this.#files) ?? this.#files;
    this.#store = new RepositoryStore(new SqliteMetaStore(join(dir, INDEX_FILE)), packs);
  }

  async config(): Promise<RepositoryConfig> {
    return this.#config;
  }

  async beginWrite(): Promise<WriteSession> {
    return this.#store.beginWrite({ host: hostname(), pid: process.pid, kind: 'backup' });
  }

  blobsSince(cursor: number): Promise<IndexDelta> {
    return this.#store.blobsSince(cursor, INDEX_PAGE);
  }

  missingBlobs(ids: string[]): Promise<Set<string>> {
    return this.#store.missingBlobs(ids);
  }

  async putPack(pack: Uint8Array, packId: string): Promise<void> {
    await this.#store.addPack(pack, packId);
  }

  readBlobs(ids: readonly string[]): Promise<Map<string, BlobRead>> {
    return this.#store.readBlobs(ids);
  }

  listSnapshots(): Promise<SnapshotRecord[]> {
    return this.#store.listSnapshots();
  }

  async commitSnapshot(commit: SnapshotCommit): Promise<void> {
    await this.#store.commitSnapshot(commit);
  }

  async forgetSnapshots(ids: string[]): Promise<void> {
    await this.#store.forgetSnapshots(ids);
  }

  usage(): Promise<UsageReport> {
    return this.#store.usage();
  }

  gc(options: GcOptions): Promise<GcReport> {
    return this.#store.gc(options);
  }

  checkPacks(options: { readData: boolean }): Promise<PackCheck[]> {
    return this.#store.checkPacks(options);
  }

  rebuildIndex(): Promise<{ packs: number; blobs: number; damagedPacks: string[] }> {
    return this.#store.rebuildIndex();
  }

  listBlobIds(type: BlobType): Promise<string[]> {
    return this.#store.listBlobIds(type);
  }

  forgottenSnapshots(): Promise<Set<string>> {
    return this.#store.forgottenSnapshots();
  }

  /** listKeyFiles returns the IDs of the key files, sorted. */
  async listKeyFiles(): Promise<string[]> {
    const ids: string[] = [];
    for await (const { name } of this.#files.list('keys/')) {
      const match = /^keys\/([0-9a-f]+)\.json$/.exec(name);
      if (match !== null && KEY_ID.test(match[1])) ids.push(match[1]);
    }
    return ids.sort();
  }

  /** readKeyFile returns a key file's text; a missing one is CumulusError 'not_found'. */
  async readKeyFile(id: string): Promise<string> {
    return (await this.#files.get(keyName(id))).toString('utf8');
  }

  /** writeKeyFile stores a key file atomically and durably (it replaces one with the same ID). */
  async writeKeyFile(id: string, text: string): Promise<void> {
    await this.#files.put(keyName(id), Buffer.from(text, 'utf8'));
  }

  /** deleteKeyFile removes a key file, but never the last one: without it the data is lost. */
  async deleteKeyFile(id: string): Promise<void> {
    const ids = await this.listKeyFiles();
    if (!ids.includes(id)) throw new CumulusError('not_found', `the repository has no key ${id}`);
    if (ids.length === 1) {
      throw new CumulusError('usage', 'refusing to remove the last key of the repository', {
        hint: 'add another password first (`cumulus key add`); without any key the backups cannot be opened',
      });
    }
    await this.#files.delete(keyName(id));
  }

  close(): Promise<void> {
    return this.#store.close();
  }
}

/**
 * createLocalRepository makes a repository in `dir` (created if absent): keys/ with the
 * first key file, packs/, forgotten/, index.sqlite, and `config` last, so a folder with a
 * config is always a whole repository. A folder that already is one → 'repository_exists'.
 */
export async function createLocalRepository(
  dir: string,
  config: RepositoryConfig,
  keyFile: { id: string; text: string },
): Promise<LocalRepository> {
  const root = resolve(dir);
  if (await exists(join(root, 'config'))) {
    throw new CumulusError('repository_exists', `${root} already holds a Cumulus repository`, {
      hint: 'open it with --repo, or choose an empty folder for a new one',
    });
  }
  const files = new FolderBlobStore(root);
  for (const folder of ['keys', 'packs', 'forgotten']) await mkdir(join(root, folder), { recursive: true });
  await files.put(keyName(keyFile.id), Buffer.from(keyFile.text, 'utf8'));
  const repository = new LocalRepository(root, config);
  await files.put('config', Buffer.from(`${JSON.stringify(config)}\n`, 'utf8'));
  return repository;
}

/**
 * openLocalRepository opens the repository in `dir`. A folder without `config` →
 * CumulusError 'not_a_repository', and nothing is created in it.
 */
export async function openLocalRepository(
  dir: string,
  options: LocalRepositoryOptions = {},
): Promise<LocalRepository> {
  const root = resolve(dir);
  let text: string;
  try {
    text = await readFile(join(root, 'config'), 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') throw error;
    const what = (await exists(root)) ? 'is not a Cumulus repository' : 'does not exist';
    throw new CumulusError('not_a_repository', `${root} ${what}`, {
      hint: 'check the --repo path, or create a repository there with `cumulus init`',
      cause: error,
    });
  }
  let config: RepositoryConfig;
  try {
    config = JSON.parse(text) as RepositoryConfig;
  } catch (error) {
    throw new CumulusError('corrupt', `the config file of ${root} is damaged`, { cause: error });
  }
  if (config.version !== 1) {
    throw new CumulusError('update_required', `${root} uses repository format ${config.version}`, {
      hint: 'update Cumulus to open this repository',
    });
  }
  return new LocalRepository(root, config, options);
}
