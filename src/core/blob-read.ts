/**
 * The answer a blob reader gives for one blob (the store's readBlobs, the server's
 * read-blobs route, the client's Repository port): shared by every layer, so it lives
 * here. The codes are stable: they travel over the wire (docs/format.md, "Wire format").
 */

/**
 * BLOB_PROBLEMS are why one blob could not be read: `blob_missing` — the index does not
 * name the blob; `pack_missing` — the index names its pack but storage has no such file;
 * `pack_damaged` — the pack is there but these bytes cannot be read from it (shorter
 * than the index says, or an I/O error). A blob whose bytes are read but fail to open is
 * the client's finding, not the store's.
 */
export const BLOB_PROBLEMS = ['blob_missing', 'pack_missing', 'pack_damaged'] as const;
export type BlobProblem = (typeof BLOB_PROBLEMS)[number];

/**
 * BlobRead is the answer for one blob ID of a `readBlobs` call, which answers every
 * distinct ID it was asked for with one of these, so a missing or damaged pack costs
 * only the blobs stored in it:
 * - `{ ok: true, bytes }` — the blob's sealed bytes exactly as stored (not yet opened:
 *   the caller verifies them against the ID when it opens them).
 * - `{ ok: false, code, reason, packId? }` — why this blob could not be read. `code` is
 *   stable (BLOB_PROBLEMS: `blob_missing`, `pack_missing`,
 *   `pack_damaged`); `reason` is plain words for a person and names only blob and pack
 *   IDs; `packId` is the pack the index places the blob in (absent for `blob_missing`).
 * Whole-call failures (invalid IDs, a lost connection, a bug) still reject the promise.
 */
export type BlobRead =
  | { ok: true; bytes: Buffer }
  | { ok: false; code: BlobProblem; reason: string; packId?: string };
