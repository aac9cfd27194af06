/**
 * Vault is the browser's read path into the account's repository, the twin of the CLI's
 * UnlockedRepository over RemoteRepository: it derives the subkeys from the account key
 * (HKDF-SHA256 as docs/format.md, "Keys"), reads sealed blobs through the read-blobs
 * route (BLOB_FRAME), opens them (AES-256-GCM bound to the ID, zstd through fzstd, the
 * HMAC checked against the ID) and decodes snapshots and trees with the project's own
 * decoders (src/core). The server only ever sends ciphertext; nothing is decrypted there.
 */

import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { decompress } from 'fzstd';
import type { RepositoryConfig } from '../../src/api/common.ts';
import {
  BLOB_FRAME,
  listSnapshots,
  MAX_IDS,
  readBlobs,
  type SnapshotRecordOut,
} from '../../src/api/repository.ts';
import { BLOB_PROBLEMS } from '../../src/core/blob-read.ts';
import { decodeSnapshot, type SnapshotInfo } from '../../src/core/snapshot.ts';
import { decodeTree, type FileEntry, type TreeEntry } from '../../src/core/tree.ts';
import type { ApiClient } from './api.ts';

const NONCE_SIZE = 12;
const TAG_SIZE = 16;
const STORED = 0;
const ZSTD = 1;
const FRAME_HEADER = BLOB_FRAME.idBytes + BLOB_FRAME.statusBytes + BLOB_FRAME.lengthBytes;
const utf8 = new TextEncoder();
/** The chunks one read-blobs request asks for while reading a file (chunks average 1 MiB). */
const CHUNKS_PER_READ = 4;
const READS_AHEAD = 2;
/** A read of several small files at once carries at most this many plaintext bytes, and MAX_BATCH_CHUNKS chunks. */
const BATCH_BYTES = 8 << 20;
const MAX_BATCH_CHUNKS = 1_000;
/** The entries the tree cache holds in all, across its trees. */
const TREE_CACHE_ENTRIES = 200_000;

/** BlobKeys are the two subkeys reading needs: the one that seals blobs and the one that names them (HMAC-SHA256). */
export interface BlobKeys {
  encryption: CryptoKey;
  blobId: CryptoKey;
}

/** VaultError is a blob that cannot be read or opened: `message` names the blob and the reason. */
export class VaultError extends Error {
  override name = 'VaultError';
}

export function hexOf(bytes: Uint8Array): string {
  let hex = '';
  for (const byte of bytes) hex += byte.toString(16).padStart(2, '0');
  return hex;
}

export function bytesOfHex(hex: string): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

/** deriveBlobKeys derives the encryption and blob-id subkeys of a repository from its master key. */
export async function deriveBlobKeys(master: Uint8Array, repositoryId: string): Promise<BlobKeys> {
  const salt = bytesOfHex(repositoryId);
  const derive = (label: string) => hkdf(sha256, master, salt, utf8.encode(label), 32);
  const imported = async (label: string, algorithm: AesKeyAlgorithm | HmacImportParams, use: KeyUsage) => {
    const raw = derive(label);
    const key = await crypto.subtle.importKey('raw', new Uint8Array(raw), algorithm, false, [use]);
    raw.fill(0);
    return key;
  };
  return {
    encryption: await imported('cumulus v1 encryption', { name: 'AES-GCM', length: 256 }, 'decrypt'),
    blobId: await imported('cumulus v1 blob-id', { name: 'HMAC', hash: 'SHA-256' }, 'sign'),
  };
}

/** blobIdOf names a plaintext: HMAC-SHA256 under the blob-id key (WebCrypto's, native), hex. */
export async function blobIdOf(keys: BlobKeys, plaintext: Uint8Array): Promise<string> {
  return hexOf(
    new Uint8Array(await crypto.subtle.sign('HMAC', keys.blobId, plaintext as Uint8Array<ArrayBuffer>)),
  );
}

/** openBlob checks a sealed blob's tag, decompresses it and checks its plaintext against its ID. */
export async function openBlob(keys: BlobKeys, id: string, sealed: Uint8Array): Promise<Uint8Array> {
  const damaged = (reason: string) => new VaultError(`blob ${id.slice(0, 8)} is damaged: ${reason}`);
  if (sealed.length < NONCE_SIZE + 1 + TAG_SIZE) throw damaged('it is too short');
  let payload: Uint8Array;
  try {
    payload = new Uint8Array(
      await crypto.subtle.decrypt(
        { name: 'AES-GCM', iv: sealed.slice(0, NONCE_SIZE), additionalData: bytesOfHex(id) },
        keys.encryption,
        sealed.slice(NONCE_SIZE),
      ),
    );
  } catch {
    throw damaged('its authentication tag does not match');
  }
  const body = payload.subarray(1);
  let plaintext: Uint8Array;
  if (payload[0] === STORED) plaintext = body;
  else if (payload[0] === ZSTD) {
    try {
      plaintext = decompress(body);
    } catch {
      throw damaged('it does not decompress');
    }
  } else throw damaged(`unknown compression ${payload[0]}`);
  if ((await blobIdOf(keys, plaintext)) !== id) throw damaged('its content does not match its ID');
  return plaintext;
}

/** unframe reads a read-blobs answer: per blob its sealed bytes, or why the server could not read it. */
export function unframe(framed: Uint8Array): Map<string, Uint8Array | VaultError> {
  const view = new DataView(framed.buffer, framed.byteOffset, framed.byteLength);
  const blobs = new Map<string, Uint8Array | VaultError>();
  let offset = 0;
  while (offset < framed.length) {
    if (offset + FRAME_HEADER > framed.length)
      throw new VaultError('the blobs the server sent were cut short');
    const id = hexOf(framed.subarray(offset, offset + BLOB_FRAME.idBytes));
    const status = view.getUint8(offset + BLOB_FRAME.idBytes);
    const length = view.getUint32(offset + BLOB_FRAME.idBytes + BLOB_FRAME.statusBytes);
    const start = offset + FRAME_HEADER;
    if (start + length > framed.length) throw new VaultError('the blobs the server sent were cut short');
    const payload = framed.subarray(start, start + length);
    if (status === 0) blobs.set(id, payload);
    else {
      const code = BLOB_PROBLEMS[status - 1] ?? `status ${status}`;
      blobs.set(id, new VaultError(`blob ${id.slice(0, 8)} cannot be read (${code})`));
    }
    offset = start + length;
  }
  return blobs;
}

/** Snapshot is a snapshot's server record with its decrypted description. */
export interface Snapshot {
  record: SnapshotRecordOut;
  info: SnapshotInfo;
}

export class Vault {
  readonly #api: ApiClient;
  readonly #keys: BlobKeys;
  readonly #trees = new Map<string, TreeEntry[]>();
  #cachedEntries = 0;

  constructor(api: ApiClient, keys: BlobKeys) {
    this.#api = api;
    this.#keys = keys;
  }

  static async open(api: ApiClient, accountKey: Uint8Array, config: RepositoryConfig): Promise<Vault> {
    return new Vault(api, await deriveBlobKeys(accountKey, config.id));
  }

  /** sealed fetches sealed blobs, asking again for the IDs an answer left out (answers are bounded in bytes). */
  async sealed(ids: readonly string[]): Promise<Map<string, Uint8Array | VaultError>> {
    const blobs = new Map<string, Uint8Array | VaultError>();
    let pending = [...new Set(ids)];
    while (pending.length > 0) {
      const response = await this.#api.fetch(
        readBlobs,
        { body: { ids: pending.slice(0, MAX_IDS) } },
        { headers: { accept: 'application/octet-stream' } },
      );
      const answered = unframe(new Uint8Array(await response.arrayBuffer()));
      if (answered.size === 0) throw new VaultError('the server answered a blob read with no blob');
      for (const [id, read] of answered) blobs.set(id, read);
      pending = pending.filter((id) => !blobs.has(id));
    }
    return blobs;
  }

  /** open reads and opens blobs, in the order asked; a blob that cannot be read or opened throws. */
  async open(ids: readonly string[]): Promise<Uint8Array[]> {
    const sealed = await this.sealed(ids);
    return Promise.all(
      ids.map((id) => {
        const read = sealed.get(id);
        if (read === undefined) throw new VaultError(`the server did not answer for blob ${id.slice(0, 8)}`);
        if (read instanceof VaultError) throw read;
        return openBlob(this.#keys, id, read);
      }),
    );
  }

  /** snapshots returns every snapshot of the account, newest first, with its description decrypted. */
  async snapshots(): Promise<Snapshot[]> {
    const { snapshots: records } = await this.#api.call(listSnapshots, { query: { device: 'all' } });
    const infos = await this.open(records.map((r) => r.id));
    return records
      .map((record, i) => ({ record, info: decodeSnapshot(infos[i]) }))
      .sort((a, b) => b.record.time.localeCompare(a.record.time));
  }

  async tree(id: string): Promise<TreeEntry[]> {
    const [entries] = await this.trees([id]);
    return entries;
  }

  /**
   * trees reads folders' trees in one request for those not cached; the cache keeps the
   * most recently read trees up to TREE_CACHE_ENTRIES entries in all, so folders shared
   * by snapshots (an unchanged folder is the same blob) are read once per walk.
   */
  async trees(ids: readonly string[]): Promise<TreeEntry[][]> {
    const missing = [...new Set(ids.filter((id) => !this.#trees.has(id)))];
    const opened = missing.length > 0 ? await this.open(missing) : [];
    const fresh = new Map(missing.map((id, i) => [id, decodeTree(opened[i])]));
    const found = ids.map((id) => fresh.get(id) ?? this.#cachedTree(id));
    for (const [id, entries] of fresh) this.#rememberTree(id, entries);
    return found;
  }

  #cachedTree(id: string): TreeEntry[] {
    const entries = this.#trees.get(id);
    if (entries === undefined) throw new VaultError(`tree ${id.slice(0, 8)} left the cache while read`);
    this.#trees.delete(id);
    this.#trees.set(id, entries);
    return entries;
  }

  #rememberTree(id: string, entries: TreeEntry[]): void {
    if (entries.length > TREE_CACHE_ENTRIES || this.#trees.has(id)) return;
    this.#trees.set(id, entries);
    this.#cachedEntries += entries.length;
    for (const [oldest, old] of this.#trees) {
      if (this.#cachedEntries <= TREE_CACHE_ENTRIES) break;
      this.#trees.delete(oldest);
      this.#cachedEntries -= old.length;
    }
  }

  /**
   * readFile yields a file's content chunk by chunk, each opened and verified. It reads
   * CHUNKS_PER_READ chunks per request and keeps READS_AHEAD more requests under way while
   * the caller takes these, so the network, the server and the decoding overlap, and
   * memory holds a few windows of the file, not all of it.
   */
  async *readFile(file: FileEntry): AsyncGenerator<Uint8Array> {
    const reads: string[][] = [];
    for (let i = 0; i < file.chunks.length; i += CHUNKS_PER_READ)
      reads.push(file.chunks.slice(i, i + CHUNKS_PER_READ));
    const underWay: Promise<Uint8Array[]>[] = [];
    let next = 0;
    const fill = () => {
      while (next < reads.length && underWay.length <= READS_AHEAD) underWay.push(this.open(reads[next++]));
    };
    try {
      fill();
      while (underWay.length > 0) {
        const chunks = await (underWay.shift() as Promise<Uint8Array[]>);
        fill();
        yield* chunks;
      }
    } finally {
      // A caller that stops early leaves the reads ahead unread: their failures are nobody's.
      for (const read of underWay) read.catch(() => {});
    }
  }

  /**
   * readFiles yields, for each file in order, its content as readFile would; small files
   * are read together, BATCH_BYTES at most per request, so a folder of many small files
   * costs a few requests and not one each. Each file's content is to be read before the
   * next one's.
   */
  async *readFiles(files: readonly FileEntry[]): AsyncGenerator<AsyncIterable<Uint8Array>> {
    let i = 0;
    while (i < files.length) {
      if (files[i].size > BATCH_BYTES || files[i].chunks.length > MAX_BATCH_CHUNKS) {
        yield this.readFile(files[i++]);
        continue;
      }
      let end = i;
      let bytes = 0;
      let chunks = 0;
      while (
        end < files.length &&
        bytes + files[end].size <= BATCH_BYTES &&
        chunks + files[end].chunks.length <= MAX_BATCH_CHUNKS
      ) {
        bytes += files[end].size;
        chunks += files[end++].chunks.length;
      }
      const batch = files.slice(i, end);
      const opened = await this.open(batch.flatMap((file) => file.chunks));
      let at = 0;
      for (const file of batch) {
        const mine = opened.slice(at, at + file.chunks.length);
        at += file.chunks.length;
        yield (async function* () {
          yield* mine;
        })();
      }
      i = end;
    }
  }
}
