/**
 * A BlobPool's worker thread: opens sealed blobs (tag, decrypt, decompress, ID check) and
 * writes restored files with synchronous calls, or only opens them for `check --read-data`.
 * The keys arrive once, so their imported forms (cipher key object, HMAC pads) stay alive
 * for the life of the worker; plaintext never crosses back to the main thread.
 */
import { closeSync, fchmodSync, futimesSync, openSync, rmSync, writeSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { isCumulusError } from '../core/errors.ts';
import { BlobOpener } from '../core/seal.ts';
import type { FromWorker, PieceResult, SealedBlobs, ToWorker, WritePiece } from './blob-protocol.ts';

const port = parentPort;
if (port === null) throw new Error('blob-worker must run in a worker thread');

let opener: BlobOpener | undefined;

function post(message: FromWorker): void {
  port?.postMessage(message);
}

function byId(blobs: SealedBlobs): Map<string, Uint8Array> {
  const map = new Map<string, Uint8Array>();
  for (let i = 0; i < blobs.ids.length; i++) map.set(blobs.ids[i], blobs.sealed[i]);
  return map;
}

/** writePiece opens the piece's blobs one by one and writes each at its place in the file. */
function writePiece(piece: WritePiece, sealed: Map<string, Uint8Array>, blobs: BlobOpener): PieceResult {
  let fd: number | undefined;
  try {
    if (piece.replace) rmSync(piece.path, { force: true, recursive: true });
    fd = openSync(piece.path, piece.create ? 'w' : 'r+', 0o600);
    let position = piece.position;
    for (const id of piece.chunks) {
      const bytes = sealed.get(id);
      if (bytes === undefined) throw new Error(`blob ${id} was not sent with its piece`);
      const plain = blobs.open(id, bytes);
      for (let done = 0; done < plain.length; )
        done += writeSync(fd, plain, done, plain.length - done, position + done);
      position += plain.length;
    }
    if (piece.finish !== undefined) {
      fchmodSync(fd, piece.finish.mode);
      futimesSync(fd, piece.finish.mtime, piece.finish.mtime);
    }
    closeSync(fd);
    return { ok: true, bytes: position - piece.position };
  } catch (error) {
    const errno = (error as NodeJS.ErrnoException).code;
    if (!isCumulusError(error) && typeof errno !== 'string') throw error;
    if (fd !== undefined) {
      closeSync(fd);
      // A file that cannot be completed is not left half written.
      rmSync(piece.path, { force: true });
    }
    return { ok: false, reason: (error as Error).message, ...(isCumulusError(error) ? {} : { errno }) };
  }
}

function verify(blobs: SealedBlobs, using: BlobOpener): (string | null)[] {
  return blobs.ids.map((id, i) => {
    try {
      using.open(id, blobs.sealed[i]);
      return null;
    } catch (error) {
      if (!isCumulusError(error)) throw error;
      return error.message;
    }
  });
}

port.on('message', (message: ToWorker) => {
  if (message.type === 'init') {
    opener = new BlobOpener(message.keys, { reuse: true });
    return;
  }
  try {
    if (opener === undefined) throw new Error('blob worker used before init');
    if (message.type === 'write') {
      const sealed = byId(message.blobs);
      const using = opener;
      post({
        type: 'written',
        job: message.job,
        results: message.pieces.map((p) => writePiece(p, sealed, using)),
      });
    } else {
      post({ type: 'verified', job: message.job, problems: verify(message.blobs, opener) });
    }
  } catch (error) {
    post({ type: 'failed', job: message.job, message: (error as Error).stack ?? String(error) });
  }
});
