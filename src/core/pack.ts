/**
 * Pack files: a run of sealed blobs followed by a plaintext table of (type, length, id),
 * so that a store without any key can list, verify, copy and delete blobs.
 * See docs/format.md, "Pack files".
 */
import { createHash } from 'node:crypto';
import { CumulusError } from './errors.ts';

export const BLOB_TYPES = ['data', 'tree', 'snapshot'] as const;
export type BlobType = (typeof BLOB_TYPES)[number];

export interface PackEntry {
  type: BlobType;
  id: string;
  offset: number;
  length: number;
}

const HEAD_MAGIC = Buffer.from('CMLSPACK', 'latin1');
const TAIL_MAGIC = Buffer.from('CMLSTAIL', 'latin1');
const VERSION = 1;
const HEAD_SIZE = HEAD_MAGIC.length + 1;
const TAIL_SIZE = 4 + 4 + TAIL_MAGIC.length;
const ENTRY_SIZE = 1 + 4 + 32;

/** packId returns the hex SHA-256 of a whole pack file: its name in the store. */
export function packId(pack: Uint8Array): string {
  return createHash('sha256').update(pack).digest('hex');
}

/** tableSize is how many bytes the table and tail of a pack of `count` blobs take. */
function tableSize(count: number): number {
  return count * ENTRY_SIZE + TAIL_SIZE;
}

/** A builder without memory of its own starts this small and doubles as blobs arrive. */
const INITIAL_CAPACITY = 64 << 10;

/**
 * PackBuilder copies sealed blobs into one buffer, head first, and writes the table behind
 * them on finish: the pack is built in place, never concatenated. Given `memory`, it builds
 * there while the pack fits (`sizeWith` tells), so a writer can reuse one buffer per pack
 * in flight; a pack that outgrows its buffer moves to a larger one.
 */
export class PackBuilder {
  #buffer: Buffer;
  #entries: PackEntry[] = [];
  #size = HEAD_SIZE;

  constructor(memory: Buffer = Buffer.allocUnsafe(INITIAL_CAPACITY)) {
    this.#buffer = memory;
    this.#reserve(HEAD_SIZE);
    HEAD_MAGIC.copy(this.#buffer, 0);
    this.#buffer[HEAD_MAGIC.length] = VERSION;
  }

  /** size is the size of the pack finish() would return now. */
  get size(): number {
    return this.#size + tableSize(this.#entries.length);
  }

  /** sizeWith is the size the pack would have with one more blob of `length` bytes. */
  sizeWith(length: number): number {
    return this.#size + length + tableSize(this.#entries.length + 1);
  }

  get count(): number {
    return this.#entries.length;
  }

  get entries(): readonly PackEntry[] {
    return this.#entries;
  }

  /** add copies a sealed blob into the pack; the caller may reuse `sealed` afterwards. */
  add(type: BlobType, id: string, sealed: Uint8Array): void {
    this.#reserve(this.sizeWith(sealed.length));
    this.#buffer.set(sealed, this.#size);
    this.#entries.push({ type, id, offset: this.#size, length: sealed.length });
    this.#size += sealed.length;
  }

  /**
   * finish writes the table and returns the pack: `bytes` is a view of the builder's
   * memory (or of the larger buffer it moved to), valid until that memory is reused.
   */
  finish(): { bytes: Buffer; id: string; entries: PackEntry[] } {
    const end = this.#size + tableSize(this.#entries.length);
    this.#reserve(end);
    const table = this.#buffer.subarray(this.#size, end);
    let at = 0;
    for (const entry of this.#entries) {
      table[at] = BLOB_TYPES.indexOf(entry.type);
      table.writeUInt32LE(entry.length, at + 1);
      table.write(entry.id, at + 5, 'hex');
      at += ENTRY_SIZE;
    }
    table.writeUInt32LE(this.#entries.length * ENTRY_SIZE, at);
    table.writeUInt32LE(this.#entries.length, at + 4);
    TAIL_MAGIC.copy(table, at + 8);
    const bytes = this.#buffer.subarray(0, end);
    return { bytes, id: packId(bytes), entries: this.#entries };
  }

  /** reserve moves the pack to a buffer of at least `needed` bytes (twice the old size or more). */
  #reserve(needed: number): void {
    if (needed <= this.#buffer.length) return;
    const larger = Buffer.allocUnsafe(Math.max(needed, 2 * this.#buffer.length));
    this.#buffer.copy(larger, 0, 0, this.#size);
    this.#buffer = larger;
  }
}

function damaged(reason: string): CumulusError {
  return new CumulusError('corrupt', `pack is damaged: ${reason}`);
}

/**
 * readPackTail returns how many bytes at the end of a pack hold its table (table + tail),
 * given the last TAIL_SIZE bytes. Lets a store read only the end of a large pack.
 */
export function packTableLength(tail: Uint8Array): number {
  if (tail.length < TAIL_SIZE) throw damaged('too short');
  const view = Buffer.from(tail.buffer, tail.byteOffset, tail.byteLength);
  const end = view.length;
  if (!view.subarray(end - TAIL_MAGIC.length).equals(TAIL_MAGIC)) throw damaged('no trailer');
  const tableLength = view.readUInt32LE(end - TAIL_SIZE);
  const count = view.readUInt32LE(end - TAIL_SIZE + 4);
  if (tableLength !== count * ENTRY_SIZE) throw damaged('table length does not match its entry count');
  return tableLength + TAIL_SIZE;
}

export const PACK_TAIL_SIZE = TAIL_SIZE;
/** PACK_ENTRY_SIZE is the bytes one blob takes in a pack's table. */
export const PACK_ENTRY_SIZE = ENTRY_SIZE;

/**
 * parsePackTable reads the plaintext table of a pack. `end` is the end of the pack (its
 * size), `tableAndTail` its last packTableLength(...) bytes. Offsets are checked to lie
 * inside the pack, so a damaged table cannot point anywhere else.
 */
export function parsePackTable(tableAndTail: Uint8Array, packSize: number): PackEntry[] {
  const view = Buffer.from(tableAndTail.buffer, tableAndTail.byteOffset, tableAndTail.byteLength);
  const total = packTableLength(view.subarray(view.length - TAIL_SIZE));
  if (view.length < total) throw damaged('table cut short');
  const table = view.subarray(view.length - total, view.length - TAIL_SIZE);
  const entries: PackEntry[] = [];
  let offset = HEAD_SIZE;
  for (let at = 0; at < table.length; at += ENTRY_SIZE) {
    const type = BLOB_TYPES[table[at]];
    if (type === undefined) throw damaged(`unknown blob type ${table[at]}`);
    const length = table.readUInt32LE(at + 1);
    const id = table.toString('hex', at + 5, at + ENTRY_SIZE);
    entries.push({ type, id, offset, length });
    offset += length;
  }
  if (offset !== packSize - total) throw damaged('blob lengths do not add up to the pack size');
  return entries;
}

/** parsePack reads the table of a whole pack held in memory and checks its header. */
export function parsePack(pack: Uint8Array): PackEntry[] {
  const view = Buffer.from(pack.buffer, pack.byteOffset, pack.byteLength);
  if (view.length < HEAD_SIZE + TAIL_SIZE || !view.subarray(0, HEAD_MAGIC.length).equals(HEAD_MAGIC)) {
    throw damaged('not a pack file');
  }
  if (view[HEAD_MAGIC.length] !== VERSION)
    throw damaged(`unsupported pack version ${view[HEAD_MAGIC.length]}`);
  return parsePackTable(view, view.length);
}
