/**
 * Local repositories: creating one with its first password, unlocking it with any of its
 * passwords, and managing those passwords (`cumulus key ...`). Every password wraps the
 * same master key; none is stored.
 */
import { hostname, userInfo } from 'node:os';
import { type ChunkerParams, DEFAULT_CHUNKER, validateChunkerParams } from '../core/chunker.ts';
import { CumulusError, isCumulusError } from '../core/errors.ts';
import {
  DEFAULT_KDF,
  deriveSubkeys,
  type KdfParams,
  type KeyFile,
  newMasterKey,
  newRepositoryId,
  parseKeyFile,
  serializeKeyFile,
  unwrapMasterKey,
  wrapMasterKey,
} from '../core/keys.ts';
import { createLocalRepository, type LocalRepository, openLocalRepository } from './local-repository.ts';
import { UnlockedRepository } from './unlocked-repository.ts';

export interface KeyOptions {
  kdf?: KdfParams;
}

function owner(): { host: string; user: string } {
  return { host: hostname(), user: userInfo().username };
}

/** initRepository creates a repository in `dir` (absent or empty) protected by `password`. */
export async function initRepository(
  dir: string,
  password: string,
  options: KeyOptions & { chunker?: ChunkerParams } = {},
): Promise<UnlockedRepository> {
  const chunker = options.chunker ?? DEFAULT_CHUNKER;
  validateChunkerParams(chunker);
  const master = newMasterKey();
  const config = { version: 1 as const, id: newRepositoryId(), chunker, created: new Date().toISOString() };
  const keyFile = await wrapMasterKey(master, password, { kdf: options.kdf ?? DEFAULT_KDF, ...owner() });
  const repo = await createLocalRepository(dir, config, { id: keyFile.id, text: serializeKeyFile(keyFile) });
  return new UnlockedRepository(repo, deriveSubkeys(master, config.id), config);
}

async function keyFiles(repo: LocalRepository): Promise<KeyFile[]> {
  const files: KeyFile[] = [];
  for (const id of await repo.listKeyFiles()) files.push(parseKeyFile(await repo.readKeyFile(id)));
  return files;
}

/**
 * unlockMaster tries the password against every key file. A damaged key file does not
 * hide a good one; the error says which happened when none opens.
 */
async function unlockMaster(
  repo: LocalRepository,
  password: string,
): Promise<{ master: Buffer; keyId: string }> {
  const ids = await repo.listKeyFiles();
  let damaged = 0;
  for (const id of ids) {
    try {
      const file = parseKeyFile(await repo.readKeyFile(id));
      return { master: await unwrapMasterKey(file, password), keyId: id };
    } catch (error) {
      if (isCumulusError(error, 'key_damaged')) damaged++;
      else if (!isCumulusError(error, 'wrong_password')) throw error;
    }
  }
  if (damaged > 0 && damaged === ids.length) {
    throw new CumulusError('key_damaged', `every key file of the repository is damaged (${damaged})`, {
      hint: 'restore the keys/ folder from a copy; without a key file the data cannot be decrypted',
    });
  }
  throw new CumulusError('wrong_password', 'wrong password: no key of this repository opens with it', {
    hint:
      damaged > 0
        ? `${damaged} key file(s) are damaged and were skipped`
        : 'check CUMULUS_PASSWORD or --password-file',
  });
}

/** openRepository unlocks the repository in `dir`. Nothing is written when the password is wrong. */
export async function openRepository(
  dir: string,
  password: string,
): Promise<UnlockedRepository & { keyId: string }> {
  const repo = await openLocalRepository(dir);
  try {
    const config = await repo.config();
    const { master, keyId } = await unlockMaster(repo, password);
    return Object.assign(new UnlockedRepository(repo, deriveSubkeys(master, config.id), config), { keyId });
  } catch (error) {
    await repo.close();
    throw error;
  }
}

export interface KeySummary {
  id: string;
  current: boolean;
  created: string;
  host: string;
  user: string;
}

/** Keyring manages the passwords of an unlocked local repository. */
export class Keyring {
  readonly #repo: LocalRepository;
  readonly #master: Buffer;
  readonly #currentId: string;

  private constructor(repo: LocalRepository, master: Buffer, currentId: string) {
    this.#repo = repo;
    this.#master = master;
    this.#currentId = currentId;
  }

  static async open(dir: string, password: string): Promise<Keyring> {
    const repo = await openLocalRepository(dir);
    try {
      const { master, keyId } = await unlockMaster(repo, password);
      return new Keyring(repo, master, keyId);
    } catch (error) {
      await repo.close();
      throw error;
    }
  }

  async list(): Promise<KeySummary[]> {
    return (await keyFiles(this.#repo)).map((file) => ({
      id: file.id,
      current: file.id === this.#currentId,
      created: file.created,
      host: file.host,
      user: file.user,
    }));
  }

  async add(password: string, options: KeyOptions = {}): Promise<string> {
    const file = await wrapMasterKey(this.#master, password, { kdf: options.kdf ?? DEFAULT_KDF, ...owner() });
    await this.#repo.writeKeyFile(file.id, serializeKeyFile(file));
    return file.id;
  }

  async remove(id: string): Promise<void> {
    if (id === this.#currentId) {
      throw new CumulusError('usage', 'refusing to remove the key you unlocked the repository with', {
        hint: 'open the repository with another password to remove this one',
      });
    }
    const match = (await this.#repo.listKeyFiles()).filter((k: string) => k.startsWith(id));
    if (match.length !== 1) {
      throw new CumulusError('not_found', `no single key matches "${id}"`, {
        hint: 'list keys with `cumulus key list`',
      });
    }
    await this.#repo.deleteKeyFile(match[0]);
  }

  /** passwd replaces the current password: the new key file is durable before the old one goes. */
  async passwd(password: string, options: KeyOptions = {}): Promise<string> {
    const id = await this.add(password, options);
    await this.#repo.deleteKeyFile(this.#currentId);
    return id;
  }

  async close(): Promise<void> {
    await this.#repo.close();
  }
}
