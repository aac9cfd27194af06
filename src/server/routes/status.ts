/** The public status: JSON for machines at /api/status, a plain HTML page at /status. */
import type { FastifyInstance } from 'fastify';
import * as api from '../../api/status.ts';
import { route } from '../http/route.ts';
import { renderStatusPage } from '../http/status-page.ts';
import type { Services } from '../services/index.ts';

export function statusRoutes(app: FastifyInstance, s: Services): void {
  route(app, api.getStatus, () => s.status.report());
  route(app, api.getLiveness, async () => ({ status: 'ok' as const }));
  route(app, api.getReadiness, () => s.status.readiness());
  app.get('/status', { schema: { hide: true }, config: { access: 'public' } }, async (_request, reply) =>
    reply.type('text/html; charset=utf-8').send(renderStatusPage(await s.status.report())),
  );
}
