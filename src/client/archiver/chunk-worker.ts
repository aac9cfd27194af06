/**
 * The archiver's worker thread: reads files, cuts them into chunks, computes their IDs,
 * asks the main thread which chunks the repository lacks, and compresses and seals only
 * those. The heavy CPU work of a backup happens here, one worker per core.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { cutPoint } from '../../core/chunker.ts';
import { freeNow } from '../../core/free-memory.ts';
import { blobId, sealBlob } from '../../core/seal.ts';
import type { FileResult, FromWorker, ToWorker, WorkerInit } from './worker-protocol.ts';

const port = parentPort;
if (port === null) throw new Error('chunk-worker must run in a worker thread');

let init: WorkerInit | undefined;
let buffer: Buffer | undefined;
const answers = new Map<number, (need: boolean[]) => void>();
let nextAsk = 0;

function post(message: FromWorker, transfer: ArrayBuffer[] = []): void {
  port?.postMessage(message, transfer);
}

/** ask sends chunk IDs to the main thread and resolves with which of them to seal and send. */
function ask(ids: string[]): Promise<boolean[]> {
  const askId = nextAsk++;
  post({ type: 'ask', askId, ids });
  return new Promise((resolve) => answers.set(askId, resolve));
}

interface Pending {
  id: string;
  data: Uint8Array;
}

/** sendNeeded seals the chunks the main thread asked for and posts them in one buffer. */
async function sendNeeded(pending: Pending[]): Promise<void> {
  if (pending.length === 0 || init === undefined) return;
  const need = await ask(pending.map((p) => p.id));
  const ids: string[] = [];
  const sealed: Buffer[] = [];
  const ends: number[] = [];
  let total = 0;
  for (let i = 0; i < pending.length; i++) {
    if (!need[i]) continue;
    const blob = sealBlob(init.keys, pending[i].id, pending[i].data, { level: init.level });
    ids.push(pending[i].id);
    sealed.push(blob);
    total += blob.length;
    ends.push(total);
  }
  if (ids.length === 0) return;
  // Its own ArrayBuffer (not a slice of Node's pool), so it can be transferred.
  const bytes = Buffer.allocUnsafeSlow(total);
  for (let i = 0; i < sealed.length; i++) {
    bytes.set(sealed[i], ends[i] - sealed[i].length);
    freeNow(sealed[i]);
  }
  post({ type: 'blobs', batch: { ids, bytes, ends } }, [bytes.buffer as ArrayBuffer]);
}

function errorText(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  return e.code ? `${e.code}: ${e.message}` : String(error);
}

/**
 * chunkLargeFile streams one file through the chunker in windows, so memory stays bounded;
 * the chunk IDs of each window are posted as 'chunks' before its blobs.
 */
async function chunkLargeFile(path: string): Promise<FileResult> {
  if (init === undefined) throw new Error('worker not initialised');
  const { chunker, keys } = init;
  const window = Math.max(8 << 20, chunker.max);
  buffer ??= Buffer.allocUnsafe(window + chunker.max);
  const buf = buffer;
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    return { chunks: [], bytesRead: 0, error: errorText(error) };
  }
  let bytesRead = 0;
  try {
    let filled = 0;
    let start = 0;
    let eof = false;
    while (!(eof && start >= filled)) {
      if (start > 0) {
        buf.copy(buf, 0, start, filled);
        filled -= start;
        start = 0;
      }
      while (!eof && filled < buf.length) {
        const n = readSync(fd, buf, filled, buf.length - filled, null);
        if (n === 0) eof = true;
        filled += n;
        bytesRead += n;
      }
      const pending: Pending[] = [];
      while (start < filled && (eof || filled - start >= chunker.max)) {
        const end = cutPoint(keys.gear, chunker, buf, start, filled);
        const data = buf.subarray(start, end);
        pending.push({ id: blobId(keys.blobId, data), data });
        start = end;
      }
      if (pending.length > 0) post({ type: 'chunks', ids: pending.map((p) => p.id) });
      await sendNeeded(pending);
    }
  } catch (error) {
    return { chunks: [], bytesRead, error: errorText(error) };
  } finally {
    closeSync(fd);
  }
  return { chunks: [], bytesRead };
}

/**
 * ARENA_BYTES is the block a batch of small files is read into, reused batch after batch
 * (a file that does not fit gets a buffer of its own): one allocation instead of one per file.
 */
const ARENA_BYTES = 4 << 20;
let smallFiles: Arena | undefined;

interface Arena {
  block: Buffer;
  used: number;
}

/**
 * chunkSmallFiles handles a batch of files no larger than the minimum chunk size: each is
 * one chunk, and the whole batch costs one round trip to the main thread.
 */
async function chunkSmallFiles(paths: string[]): Promise<FileResult[]> {
  if (init === undefined) throw new Error('worker not initialised');
  smallFiles ??= { block: Buffer.allocUnsafeSlow(ARENA_BYTES), used: 0 };
  const arena = smallFiles;
  arena.used = 0;
  const results: FileResult[] = [];
  const pending: Pending[] = [];
  const seen = new Set<string>();
  for (const path of paths) {
    let data: Buffer;
    try {
      data = readWhole(path, arena);
    } catch (error) {
      results.push({ chunks: [], bytesRead: 0, error: errorText(error) });
      continue;
    }
    if (data.length === 0) {
      results.push({ chunks: [], bytesRead: 0 });
      continue;
    }
    const id = blobId(init.keys.blobId, data);
    if (!seen.has(id)) {
      seen.add(id);
      pending.push({ id, data });
    }
    results.push({ chunks: [id], bytesRead: data.length });
  }
  await sendNeeded(pending);
  return results;
}

/**
 * readWhole reads a small file with one open, into the arena when it fits; it may have
 * changed since it was listed. It asks for one byte more than the file's size to notice
 * growth, and stops at a short read once it has the size it saw: no extra read of 0 bytes.
 */
function readWhole(path: string, arena: Arena): Buffer {
  const fd = openSync(path, 'r');
  try {
    const expected = fstatSync(fd).size;
    const parts: Buffer[] = [];
    let total = 0;
    let size = expected + 1;
    for (;;) {
      const fits = arena.used + size <= arena.block.length;
      const part = fits ? arena.block.subarray(arena.used, arena.used + size) : Buffer.allocUnsafe(size);
      const n = readSync(fd, part, 0, size, null);
      if (fits) arena.used += n;
      if (n === 0) break;
      parts.push(part.subarray(0, n));
      total += n;
      if (n < size && total >= expected) break;
      size = 64 << 10;
    }
    return parts.length === 1 ? parts[0] : Buffer.concat(parts, total);
  } finally {
    closeSync(fd);
  }
}

port.on('message', (message: ToWorker) => {
  switch (message.type) {
    case 'init':
      init = message.init;
      return;
    case 'answer': {
      const resolve = answers.get(message.askId);
      answers.delete(message.askId);
      resolve?.(message.need);
      return;
    }
    case 'job': {
      const { paths, large } = message;
      const work = large ? chunkLargeFile(paths[0]).then((r) => [r]) : chunkSmallFiles(paths);
      work.then(
        (files) => post({ type: 'done', files }),
        (error: unknown) => post({ type: 'failed', message: errorText(error) }),
      );
      return;
    }
  }
});
