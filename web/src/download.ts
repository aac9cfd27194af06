/**
 * Restores from a snapshot into the person's files, all in this page: every chunk is
 * fetched sealed, opened and verified (Vault.readFile: the AES-GCM tag, then the HMAC
 * against its ID), each file's length is checked against its tree entry, and the bytes
 * are streamed to where save.ts puts them, never gathered in memory. A folder becomes a
 * zip (client-zip: stored entries, ZIP64 past 4 GB, its exact length known before the
 * first byte) of every file below it, listed first so the progress has a total.
 * Symbolic links are left out of a zip and counted.
 */
import { makeZip, predictLength } from 'client-zip';
import type { FileEntry } from '../../src/core/tree.ts';
import { chooseTarget, type SaveWay } from './save.ts';
import type { Vault } from './vault.ts';
import { walkFolders } from './walk.ts';

/** Bytes gathered before a write to the target. */
const WRITE_BYTES = 1 << 20;

export interface DownloadProgress {
  bytesDone: number;
  bytesTotal: number;
  filesDone: number;
  filesTotal: number;
  startedAt: number;
}

export interface DownloadOptions {
  way: SaveWay;
  signal: AbortSignal;
  onProgress(progress: DownloadProgress): void;
  /** onListing reports a folder's listing as it is read, before the download starts. */
  onListing?(files: number): void;
}

/** FolderListing is what a folder's zip holds: its files and folders by path, and the links left out. */
export interface FolderListing {
  files: { path: string; entry: FileEntry }[];
  folders: string[];
  links: number;
}

/** saveFile restores one file. */
export async function saveFile(vault: Vault, file: FileEntry, options: DownloadOptions): Promise<void> {
  const target = await chooseTarget(file.name, options.way);
  const progress = started(file.size, 1);
  options.onProgress({ ...progress });
  const content = restoredContent(file, vault.readFile(file), file.name, progress, options);
  await pipeToTarget(target, file.size, content, options.signal);
}

/** saveFolder restores a folder, everything below it, as `<name>.zip`. */
export async function saveFolder(
  vault: Vault,
  folder: { name: string; tree: string },
  options: DownloadOptions,
): Promise<FolderListing> {
  const target = await chooseTarget(`${folder.name}.zip`, options.way);
  const listing = await listFolder(vault, folder, options);
  const bytes = listing.files.reduce((sum, f) => sum + f.entry.size, 0);
  const progress = started(bytes, listing.files.length);
  options.onProgress({ ...progress });
  const items = [
    ...listing.folders.map((path) => ({ name: `${path}/` })),
    ...listing.files.map(({ path, entry }) => ({
      name: path,
      size: entry.size,
      lastModified: new Date(Number(BigInt(entry.mtimeNs) / 1_000_000n)),
      mode: entry.mode & 0o777,
    })),
  ];
  const length = Number(predictLength(items));
  async function* inputs() {
    yield* items.slice(0, listing.folders.length);
    let i = 0;
    for await (const chunks of vault.readFiles(listing.files.map((f) => f.entry))) {
      const { path, entry } = listing.files[i];
      yield {
        ...items[listing.folders.length + i++],
        input: restoredContent(entry, chunks, path, progress, options),
      };
      progress.filesDone++;
    }
  }
  await pipeToTarget(target, length, iterate(makeZip(inputs(), { buffersAreUTF8: true })), options.signal);
  return listing;
}

async function listFolder(
  vault: Vault,
  folder: { name: string; tree: string },
  options: DownloadOptions,
): Promise<FolderListing> {
  const listing: FolderListing = { files: [], folders: [folder.name], links: 0 };
  for await (const found of walkFolders(vault, folder.tree, options.signal)) {
    const base = [folder.name, ...found.path.map((step) => step.name)].join('/');
    for (const entry of found.entries) {
      if (entry.type === 'file') listing.files.push({ path: `${base}/${entry.name}`, entry });
      else if (entry.type === 'dir') listing.folders.push(`${base}/${entry.name}`);
      else listing.links++;
    }
    options.onListing?.(listing.files.length);
  }
  return listing;
}

function started(bytesTotal: number, filesTotal: number): DownloadProgress {
  return { bytesDone: 0, bytesTotal, filesDone: 0, filesTotal, startedAt: Date.now() };
}

/** restoredContent yields a file's verified chunks, counting them, and fails if its length is not the tree's. */
async function* restoredContent(
  file: FileEntry,
  chunks: AsyncIterable<Uint8Array>,
  path: string,
  progress: DownloadProgress,
  options: DownloadOptions,
): AsyncGenerator<Uint8Array<ArrayBuffer>> {
  let bytes = 0;
  for await (const chunk of chunks) {
    options.signal.throwIfAborted();
    bytes += chunk.length;
    if (bytes > file.size) break;
    progress.bytesDone += chunk.length;
    options.onProgress({ ...progress });
    yield new Uint8Array(chunk);
  }
  if (bytes !== file.size)
    throw new Error(`${path} restored to ${bytes} bytes instead of ${file.size}: its backup is damaged`);
  if (progress.filesTotal === 1) options.onProgress({ ...progress, filesDone: 1 });
}

async function* iterate(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

/**
 * pipeToTarget writes the bytes to the target in pieces of WRITE_BYTES (a zip of small
 * files comes in pieces of a few bytes, and each write to the download worker is a round
 * trip); on a failure or a cancel the target is aborted.
 */
async function pipeToTarget(
  target: { open(bytes: number): Promise<WritableStream<Uint8Array>> },
  bytes: number,
  content: AsyncIterable<Uint8Array>,
  signal: AbortSignal,
): Promise<void> {
  const writer = (await target.open(bytes)).getWriter();
  let piece = new Uint8Array(WRITE_BYTES);
  let filled = 0;
  const flush = async () => {
    if (filled === 0) return;
    await writer.write(piece.subarray(0, filled));
    piece = new Uint8Array(WRITE_BYTES);
    filled = 0;
  };
  try {
    for await (const chunk of content) {
      signal.throwIfAborted();
      if (chunk.length >= WRITE_BYTES) {
        await flush();
        await writer.write(chunk);
        continue;
      }
      if (filled + chunk.length > WRITE_BYTES) await flush();
      piece.set(chunk, filled);
      filled += chunk.length;
    }
    await flush();
    await writer.close();
  } catch (error) {
    await writer.abort(error).catch(() => {});
    throw error;
  }
}
