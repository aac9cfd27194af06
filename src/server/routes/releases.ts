/** The update channel agents poll. */
import type { FastifyInstance } from 'fastify';
import * as api from '../../api/releases.ts';
import { route } from '../http/route.ts';
import type { Services } from '../services/index.ts';

export function releaseRoutes(app: FastifyInstance, s: Services): void {
  route(app, api.latestRelease, ({ agentVersion }) => s.releases.latestFor(agentVersion));
}
