/**
 * Test helpers for the store: synthetic packs of random "sealed" blobs (the store never
 * opens a blob, so random bytes are as good as ciphertext), a clock to move by hand, and
 * snapshot commits built from blobs.
 */
import { randomBytes } from 'node:crypto';
import { type BlobType, PackBuilder } from '../core/pack.ts';
import type { BlobRead, SnapshotCommit } from './types.ts';

export interface TestBlob {
  id: string;
  type: BlobType;
  length: number;
  /** The random bytes stored as the sealed blob. */
  sealed: Buffer;
}

export interface TestPack {
  id: string;
  bytes: Buffer;
  blobs: TestBlob[];
}

export function randomId(): string {
  return randomBytes(32).toString('hex');
}

/** makePack builds a pack of random blobs of the given lengths (or of the given blobs, to duplicate them). */
export function makePack(blobs: (number | { length: number; type?: BlobType; id?: string })[]): TestPack {
  const builder = new PackBuilder();
  const made: TestBlob[] = [];
  for (const spec of blobs) {
    const { length, type = 'data', id = randomId() } = typeof spec === 'number' ? { length: spec } : spec;
    const sealed = randomBytes(length);
    builder.add(type, id, sealed);
    made.push({ id, type, length, sealed });
  }
  const { bytes, id } = builder.finish();
  return { id, bytes, blobs: made };
}

/** ManualClock is a clock a test moves by hand. */
export class ManualClock {
  now: number;

  constructor(start = Date.UTC(2030, 0, 1)) {
    this.now = start;
  }

  readonly read = (): number => this.now;

  advance(ms: number): void {
    this.now += ms;
  }
}

/**
 * commitOf makes a snapshot commit: `snapshot` is the snapshot blob, `sources` maps a
 * source ID to the blobs it references (the first is taken as its tree).
 */
export function commitOf(
  snapshot: TestBlob,
  sources: Record<string, TestBlob[]>,
  options: { time?: string; device?: string; logicalSize?: number } = {},
): SnapshotCommit {
  return {
    id: snapshot.id,
    time: options.time ?? '2030-01-01T00:00:00.000Z',
    device: options.device,
    sources: Object.entries(sources).map(([id, refs]) => ({
      id,
      tree: refs[0]?.id ?? snapshot.id,
      logicalSize: options.logicalSize ?? refs.reduce((sum, b) => sum + b.length * 2, 0),
      refs: refs.map((b) => b.id),
    })),
  };
}

/** bytesOf sums the lengths of blobs, counting each ID once. */
export function bytesOf(blobs: readonly TestBlob[]): number {
  return [...new Map(blobs.map((b) => [b.id, b.length])).values()].reduce((a, b) => a + b, 0);
}

/** readSealed reads one blob through any blob reader and returns its bytes; a BlobRead problem is thrown as an Error naming its code. */
export async function readSealed(
  reader: { readBlobs(ids: readonly string[]): Promise<Map<string, BlobRead>> },
  id: string,
): Promise<Buffer> {
  const read = (await reader.readBlobs([id])).get(id);
  if (read === undefined) throw new Error(`no answer for blob ${id}`);
  if (!read.ok) throw new Error(`${read.code}: ${read.reason}`);
  return read.bytes;
}
