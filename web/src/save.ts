/**
 * Where a restore's bytes go, as a stream, so no download is held in memory whatever its
 * size. Two ways, both writing to disk as the bytes are restored:
 *
 * - "Save as…" (the File System Access API, Chromium on desktop): the person picks a file
 *   and the stream is written into it. The picker needs the click that asked for it, so
 *   it is opened first, before the restore lists anything.
 * - "Download" (every browser with service workers): the stream is transferred to the
 *   console's service worker (stream-worker.ts), which answers a hidden frame's request
 *   for /stream/<random ID> with it as an attachment, so it lands in the downloads folder
 *   like any download, with its exact length. The request never leaves the browser.
 *
 * Either way a restore that fails or is cancelled aborts the stream, and the browser
 * drops the partial file (a failed download, or the picked file left unwritten).
 */
import type { StreamOffer } from './stream-worker.ts';

export type SaveWay = 'download' | 'picker';

/** SaveTarget is a chosen destination; open gives the stream to write, once the length is known. */
export interface SaveTarget {
  open(bytes: number): Promise<WritableStream<Uint8Array>>;
}

interface FileSystemAccess {
  showSaveFilePicker(options: { suggestedName: string }): Promise<{
    createWritable(): Promise<WritableStream<Uint8Array>>;
  }>;
}

const WORKER = '/stream-worker.js';
const SCOPE = '/stream/';
/** A service worker idle this long may be stopped; a running download pings it sooner. */
const KEEPALIVE_MS = 10_000;

/** canPick says whether this browser can write into a file the person picks. */
export function canPick(): boolean {
  return 'showSaveFilePicker' in window;
}

/** chooseTarget starts a save: for "Save as…" it opens the picker now, while the click still counts. */
export async function chooseTarget(name: string, way: SaveWay): Promise<SaveTarget> {
  if (way === 'picker') {
    const handle = await (window as unknown as FileSystemAccess).showSaveFilePicker({ suggestedName: name });
    return { open: () => handle.createWritable() };
  }
  const worker = await streamWorker();
  return { open: (bytes) => offerDownload(worker, name, bytes) };
}

async function streamWorker(): Promise<ServiceWorker> {
  if (!('serviceWorker' in navigator))
    throw new Error(
      'this browser cannot stream a download to disk here (no service workers: a private window, or a page not served over HTTPS)',
    );
  const registration = await navigator.serviceWorker.register(WORKER, { scope: SCOPE });
  const worker = registration.active ?? registration.waiting ?? registration.installing;
  if (!worker) throw new Error('the download worker did not start');
  if (worker.state !== 'activated')
    await new Promise<void>((resolve, reject) => {
      worker.addEventListener('statechange', () => {
        if (worker.state === 'activated') resolve();
        if (worker.state === 'redundant') reject(new Error('the download worker did not start'));
      });
    });
  return worker;
}

/**
 * offerDownload transfers the readable side of a pipe to the worker, opens the download in
 * a hidden frame, and returns the writable side; the worker is pinged while it runs.
 */
async function offerDownload(
  worker: ServiceWorker,
  name: string,
  bytes: number,
): Promise<WritableStream<Uint8Array>> {
  const pipe = new TransformStream<Uint8Array, Uint8Array>();
  const offer: StreamOffer = { id: crypto.randomUUID(), name, bytes, stream: pipe.readable };
  const channel = new MessageChannel();
  const ready = new Promise((resolve) => {
    channel.port1.onmessage = resolve;
  });
  worker.postMessage(offer, [pipe.readable as unknown as Transferable, channel.port2]);
  await ready;
  const frame = document.createElement('iframe');
  frame.hidden = true;
  frame.title = `Download of ${name}`;
  frame.src = `${SCOPE}${offer.id}`;
  document.body.append(frame);
  const keepalive = setInterval(() => worker.postMessage('keepalive'), KEEPALIVE_MS);
  const finish = () => {
    clearInterval(keepalive);
    // The frame stays a while: the browser may still be taking the last bytes from it.
    setTimeout(() => frame.remove(), KEEPALIVE_MS);
  };
  const writer = pipe.writable.getWriter();
  return new WritableStream<Uint8Array>({
    write: (chunk) => writer.write(chunk),
    close: () => writer.close().finally(finish),
    abort: (reason) => writer.abort(reason).finally(finish),
  });
}
