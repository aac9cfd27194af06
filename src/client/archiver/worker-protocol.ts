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

export type ToWorker =
  | { type: 'init'; init: WorkerInit }
  | { type: 'job'; jobId: number; paths: string[]; large: boolean }
  | { type: 'answer'; askId: number; need: boolean[] };

export type FromWorker =
  | { type: 'ask'; jobId: number; askId: number; ids: string[] }
  | { type: 'blobs'; jobId: number; blobs: { id: string; sealed: Uint8Array; rawLength: number }[] }
  | { type: 'done'; jobId: number; files: FileResult[] }
  | { type: 'failed'; jobId: number; message: string };
