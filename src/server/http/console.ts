/**
 * serveConsole serves the web console, the single-page app Vite builds into web/dist
 * (`npm run build:web`, run by `npm start` and `npm test`): its files by path, and
 * index.html for any other GET outside /api that asks for HTML, so a reload of /storage
 * opens the app there. Without a build, `/` says how to make one instead of a bare 404.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { notFoundHandler } from './errors.ts';

export async function serveConsole(app: FastifyInstance, root: string): Promise<void> {
  const built = existsSync(join(root, 'index.html'));
  if (built) {
    await app.register(fastifyStatic, {
      root,
      wildcard: false,
      index: false,
      // Vite names every asset by its content hash, so it can be cached for good.
      setHeaders: (reply, path) => {
        if (path.includes('/assets/')) reply.header('cache-control', 'public, max-age=31536000, immutable');
      },
    });
  }
  const page = async (_request: FastifyRequest, reply: FastifyReply) =>
    built
      ? // Sent with max-age=0: revalidated on every load, so a new build is picked up at once.
        reply.sendFile('index.html')
      : reply
          .status(503)
          .type('text/plain; charset=utf-8')
          .send('The web console is not built: run `npm run build:web` (npm start does it), then reload.\n');
  app.get('/', { schema: { hide: true }, config: { access: 'public' } }, page);
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0];
    const wantsPage =
      request.method === 'GET' &&
      !path.startsWith('/api/') &&
      /text\/html/.test(request.headers.accept ?? '');
    return wantsPage ? page(request, reply) : notFoundHandler(request, reply);
  });
}
