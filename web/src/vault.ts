/**
 * Vault is the browser's read path into the account's repository, the twin of the CLI's
 * UnlockedRepository over RemoteRepository: it derives the subkeys from the account key
 * (HKDF-SHA256 as docs/format.md, "Keys"), reads sealed blobs through the read-blobs
 * route (BLOB_FRAME), opens them (AES-256-GCM bound to the ID, zstd through fzstd, the
 * HMAC checked against the ID) and decodes snapshots and trees with the project's own
 * decoders (src/core). The server only ever sends ciphertext; nothing is decrypted there.
 */

import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
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

/** BlobKeys are the two subkeys reading needs: the one that seals blobs and the one that names them. */
export interface BlobKeys {
  encryption: CryptoKey;
  blobId: Uint8Array;
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
  const raw = derive('cumulus v1 encryption');
  const encryption = await crypto.subtle.importKey('raw', new Uint8Array(raw), 'AES-GCM', false, ['decrypt']);
  raw.fill(0);
  return { encryption, blobId: derive('cumulus v1 blob-id') };
}

/** blobIdOf names a plaintext: HMAC-SHA256 under the blob-id key, hex. */
export function blobIdOf(keys: BlobKeys, plaintext: Uint8Array): string {
  return hexOf(hmac(sha256, keys.blobId, plaintext));
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
  if (blobIdOf(keys, plaintext) !== id) throw damaged('its content does not match its ID');
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
    const [bytes] = await this.open([id]);
    return decodeTree(bytes);
  }

  /**
   * readFile yields a file's content chunk by chunk, each opened and verified, fetching a
   * few chunks per request so memory holds a window of the file, not all of it.
   */
  async *readFile(file: FileEntry, chunksPerRead = 4): AsyncGenerator<Uint8Array> {
    for (let i = 0; i < file.chunks.length; i += chunksPerRead) {
      yield* await this.open(file.chunks.slice(i, i + chunksPerRead));
    }
  }
}
