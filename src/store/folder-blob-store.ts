/**
 * FolderBlobStore keeps objects as files under a root folder: the name `packs/ab/<id>` is
 * the file `<root>/packs/ab/<id>`. A put writes `<name>.tmp-<random>` beside the final
 * file, fsyncs it, renames it into place and fsyncs the folder, so a crash leaves either
 * the old state or the whole new object. A crash before the rename can leave a temporary
 * file behind; `list` shows it under its own name, so garbage collection can remove it.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { CumulusError, fromSystemError } from '../core/errors.ts';
import { roundTrip } from './probe.ts';
import type { BlobInfo, BlobStore } from './types.ts';

const NAME = /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/;

/** checkName refuses names that could escape the root or are not plain relative paths. */
export function checkName(name: string): string {
  if (!NAME.test(name) || name.split('/').some((part) => part === '.' || part === '..')) {
    throw new Error(`invalid object name ${JSON.stringify(name)}`);
  }
  return name;
}

/** notFound is the error of a missing object, the same from every store (containment relies on its code). */
export function notFound(name: string, cause?: unknown): CumulusError {
  return new CumulusError('not_found', `${name} does not exist in the repository`, { cause });
}

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT';
}

export class FolderBlobStore implements BlobStore {
  readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  #path(name: string): string {
    return join(this.root, checkName(name));
  }

  async put(name: string, data: Uint8Array): Promise<void> {
    const path = this.#path(name);
    const folder = dirname(path);
    const temporary = `${path}.tmp-${randomBytes(6).toString('hex')}`;
    try {
      await makeFolder(folder);
      const file = await open(temporary, 'wx');
      try {
        await file.writeFile(data);
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(temporary, path);
      await syncFolder(folder);
    } catch (error) {
      await unlink(temporary).catch(() => {});
      throw fromSystemError(error, name);
    }
  }

  async get(name: string, range?: { offset: number; length: number }): Promise<Buffer> {
    const path = this.#path(name);
    let file: Awaited<ReturnType<typeof open>>;
    try {
      file = await open(path, 'r');
    } catch (error) {
      if (isMissing(error)) throw notFound(name, error);
      throw error;
    }
    try {
      if (range === undefined) return await file.readFile();
      const buffer = Buffer.allocUnsafe(range.length);
      let done = 0;
      while (done < range.length) {
        const { bytesRead } = await file.read(buffer, done, range.length - done, range.offset + done);
        if (bytesRead === 0) {
          throw new CumulusError('corrupt', `${name} ends before byte ${range.offset + range.length}`, {
            hint: 'run `cumulus check` to find damaged packs',
          });
        }
        done += bytesRead;
      }
      return buffer;
    } finally {
      await file.close();
    }
  }

  async size(name: string): Promise<number | undefined> {
    try {
      return (await stat(this.#path(name))).size;
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  async delete(name: string): Promise<void> {
    try {
      await unlink(this.#path(name));
    } catch (error) {
      if (!isMissing(error)) throw error;
    }
  }

  async *list(prefix: string): AsyncIterable<BlobInfo> {
    // Walk only the deepest folder the prefix names, then filter by the rest of it.
    const slash = prefix.lastIndexOf('/');
    const base = slash < 0 ? '' : prefix.slice(0, slash);
    if (base !== '') checkName(base);
    yield* this.#walk(base, prefix);
  }

  async *#walk(folder: string, prefix: string): AsyncIterable<BlobInfo> {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await readdir(join(this.root, folder), { withFileTypes: true });
    } catch (error) {
      if (isMissing(error) || (error as NodeJS.ErrnoException).code === 'ENOTDIR') return;
      throw error;
    }
    for (const entry of entries) {
      const name = folder === '' ? entry.name : `${folder}/${entry.name}`;
      if (entry.isDirectory()) {
        if (name.startsWith(prefix) || prefix.startsWith(`${name}/`)) yield* this.#walk(name, prefix);
      } else if (entry.isFile() && name.startsWith(prefix)) {
        try {
          const info = await stat(join(this.root, name));
          yield { name, size: info.size, modifiedAt: info.mtimeMs };
        } catch (error) {
          // Deleted while we listed it: it is simply not there any more.
          if (!isMissing(error)) throw error;
        }
      }
    }
  }

  probe(): Promise<void> {
    return roundTrip(this, `the storage folder ${this.root}`);
  }
}

/**
 * makeFolder creates a folder and its missing parents, and fsyncs the parent of each one
 * it created, so the new folders survive a power loss along with the file put in them.
 */
async function makeFolder(folder: string): Promise<void> {
  const first = await mkdir(folder, { recursive: true });
  if (first === undefined) return;
  for (let created = folder; created.length >= first.length; created = dirname(created)) {
    await syncFolder(dirname(created));
  }
}

/** syncFolder fsyncs a directory so a rename in it survives a power loss. */
async function syncFolder(folder: string): Promise<void> {
  const handle = await open(folder, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
