/** Messages between the archiver (main thread) and its chunk workers. */
import type { ChunkerParams } from '../../core/chunker.ts';
import type { Subkeys } from '../../core/keys.ts';

export interface WorkerInit {
  keys: Subkeys;
  chunker: ChunkerParams;
  level: number;
}

export interface FileResult {
  chunks: string[];
  bytesRead: number;
  /** Why the file could not be read (whole or in part); the file is left out of the snapshot. */
  error?: string;
}

/**
 * SealedBatch is the sealed blobs of one window or one batch of small files, end to end in
 * one buffer: blob i is `bytes[ends[i-1] ?? 0, ends[i])`. One buffer a message, not one per
 * blob: transferring thousands of small buffers cost more than sealing them.
 */
export interface SealedBatch {
  ids: string[];
  bytes: Uint8Array;
  ends: number[];
}

/** A worker has one job at a time, so its messages need no job ID. */
export type ToWorker =
  | { type: 'init'; init: WorkerInit }
  | { type: 'job'; paths: string[]; large: boolean }
  | { type: 'answer'; askId: number; need: boolean[] };

/**
 * A large file's chunk IDs go to the main thread window by window ('chunks'), in order,
 * and its FileResult carries none: the worker holds nothing that grows with the file, so
 * its heap stays within a small fixed limit.
 */
export type FromWorker =
  | { type: 'ask'; askId: number; ids: string[] }
  | { type: 'chunks'; ids: string[] }
  | { type: 'blobs'; batch: SealedBatch }
  | { type: 'done'; files: FileResult[] }
  | { type: 'failed'; message: string };
