/**
 * The console's service worker, and all it does: hand a stream the page made to the
 * browser as a download. The page transfers a ReadableStream of restored bytes with a
 * random ID (save.ts), then opens /stream/<ID> in a hidden frame; this worker answers that
 * request itself with the stream as an attachment, so the bytes go to the downloads folder
 * as they are restored and the request never reaches the server. Its scope is /stream/,
 * so it stands in front of nothing else. Built to /stream-worker.js (web/vite.config.ts)
 * and registered as a classic script (it imports nothing), which every browser with
 * service workers runs.
 */

/** The few parts of the worker's global scope used here (the DOM lib has no ServiceWorker types). */
interface WorkerScope {
  addEventListener(
    type: 'install',
    listener: (event: { waitUntil(p: Promise<unknown>): void }) => void,
  ): void;
  addEventListener(
    type: 'activate',
    listener: (event: { waitUntil(p: Promise<unknown>): void }) => void,
  ): void;
  addEventListener(type: 'message', listener: (event: MessageEvent<StreamOffer | 'keepalive'>) => void): void;
  addEventListener(
    type: 'fetch',
    listener: (event: { request: Request; respondWith(response: Response): void }) => void,
  ): void;
  skipWaiting(): Promise<void>;
  clients: { claim(): Promise<void> };
}

/** StreamOffer is what the page sends: the stream, and the download's name and length. */
export interface StreamOffer {
  id: string;
  name: string;
  bytes: number;
  stream: ReadableStream<Uint8Array>;
}

/** An offer not taken within this time is dropped (its frame never loaded). */
const OFFER_TTL_MS = 60_000;
const PREFIX = '/stream/';

const scope = self as unknown as WorkerScope;
const offers = new Map<string, StreamOffer>();

scope.addEventListener('install', (event) => event.waitUntil(scope.skipWaiting()));
scope.addEventListener('activate', (event) => event.waitUntil(scope.clients.claim()));

scope.addEventListener('message', (event) => {
  if (event.data === 'keepalive') return;
  const offer = event.data;
  offers.set(offer.id, offer);
  setTimeout(() => {
    if (offers.delete(offer.id)) void offer.stream.cancel('the download was never opened');
  }, OFFER_TTL_MS);
  event.ports[0]?.postMessage('ready');
});

scope.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (!url.pathname.startsWith(PREFIX)) return;
  const id = url.pathname.slice(PREFIX.length);
  const offer = offers.get(id);
  offers.delete(id);
  if (!offer) {
    event.respondWith(
      new Response('This download is no longer available: start it again from the console.', {
        status: 404,
        headers: { 'content-type': 'text/plain; charset=utf-8' },
      }),
    );
    return;
  }
  event.respondWith(
    new Response(offer.stream, {
      headers: {
        'content-type': 'application/octet-stream',
        'content-length': String(offer.bytes),
        'content-disposition': `attachment; filename*=UTF-8''${encodeURIComponent(offer.name)}`,
        'x-content-type-options': 'nosniff',
      },
    }),
  );
});
