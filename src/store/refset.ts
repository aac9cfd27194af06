/**
 * Reference sets: the blob row numbers one snapshot source references, stored compactly.
 * Encoding: the strictly increasing row numbers as unsigned LEB128 varints, the first as
 * is and each next one as the difference from the one before. See docs/format.md.
 */
import { createHash } from 'node:crypto';

/** sortedUniqueRows sorts row numbers ascending and drops repeats. */
export function sortedUniqueRows(rows: ArrayLike<number>): number[] {
  const sorted = Float64Array.from(rows).sort();
  const out: number[] = [];
  for (let i = 0; i < sorted.length; i++) {
    if (i === 0 || sorted[i] !== sorted[i - 1]) out.push(sorted[i]);
  }
  return out;
}

/**
 * encodeRefset encodes strictly increasing non-negative safe integers. It throws on
 * anything else: a caller that passes unsorted rows has a bug.
 */
export function encodeRefset(rows: readonly number[]): Buffer {
  const out = Buffer.allocUnsafe(rows.length * 8 + 8);
  let at = 0;
  let previous = -1;
  for (const row of rows) {
    if (!Number.isSafeInteger(row) || row <= previous) {
      throw new Error(`refset rows must be strictly increasing safe integers (got ${row} after ${previous})`);
    }
    // Deltas of the first row are from 0, so a row of 0 stays encodable.
    let delta = previous < 0 ? row : row - previous;
    previous = row;
    while (delta >= 0x80) {
      out[at++] = (delta % 0x80) | 0x80;
      delta = Math.floor(delta / 0x80);
    }
    out[at++] = delta;
  }
  return Buffer.from(out.subarray(0, at));
}

/** decodeRefset is the inverse of encodeRefset; it throws on a truncated varint. */
export function decodeRefset(data: Uint8Array): number[] {
  const rows: number[] = [];
  let value = 0;
  let scale = 1;
  let previous = 0;
  for (let at = 0; at < data.length; at++) {
    const byte = data[at];
    value += (byte & 0x7f) * scale;
    if (byte & 0x80) {
      scale *= 0x80;
      continue;
    }
    previous = rows.length === 0 ? value : previous + value;
    rows.push(previous);
    value = 0;
    scale = 1;
  }
  if (scale !== 1) throw new Error('refset is truncated');
  return rows;
}

/** refsetHash names an encoded refset: equal sets share one stored row. */
export function refsetHash(encoded: Uint8Array): Buffer {
  return createHash('sha256').update(encoded).digest();
}
