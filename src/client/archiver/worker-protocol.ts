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
  | { type: 'blobs'; blobs: { id: string; sealed: Uint8Array; rawLength: number }[] }
  | { type: 'done'; files: FileResult[] }
  | { type: 'failed'; message: string };
