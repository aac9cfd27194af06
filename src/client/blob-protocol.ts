/** Messages between the main thread and the blob workers of a BlobPool. */
import type { Subkeys } from '../core/keys.ts';

/**
 * WritePiece is a run of a file's chunks a worker opens and writes at `position`: a whole
 * small file, or one window of a large one. The last piece of a file carries `finish`.
 */
export interface WritePiece {
  path: string;
  position: number;
  chunks: string[];
  /** Create or truncate the file (its first piece); later pieces write into it. */
  create: boolean;
  /** Remove whatever stands at `path` first (a restore with --overwrite). */
  replace: boolean;
  /** Mode and mtime (seconds), set through the open file after its last write. */
  finish?: { mode: number; mtime: number };
}

/**
 * PieceResult says what became of a piece: the plaintext bytes written, or why not (the
 * file is then removed). `errno` is set when the target's filesystem refused.
 */
export type PieceResult = { ok: true; bytes: number } | { ok: false; reason: string; errno?: string };

/** A blob travels as its ID and its sealed bytes; many blobs share one transferred buffer. */
export interface SealedBlobs {
  ids: string[];
  sealed: Uint8Array[];
}

export type ToWorker =
  | { type: 'init'; keys: Subkeys }
  | { type: 'write'; job: number; pieces: WritePiece[]; blobs: SealedBlobs }
  | { type: 'verify'; job: number; blobs: SealedBlobs };

export type FromWorker =
  | { type: 'written'; job: number; results: PieceResult[] }
  /** One entry per blob of the job, in order: null when it opened, else why not. */
  | { type: 'verified'; job: number; problems: (string | null)[] }
  | { type: 'failed'; job: number; message: string };
