/**
 * route registers an API endpoint (src/api) on the app: its schemas become Fastify's
 * validation and the OpenAPI document, and the handler receives the validated input and
 * the authenticated caller. Authentication and the agent version gate run in hooks that
 * read the route's config, so routes registered any other way get them too.
 */
import type { FastifyInstance, FastifyRequest, onRequestHookHandler } from 'fastify';
import { AGENT_VERSION_HEADER, ErrorBody } from '../../api/common.ts';
import type { Access, Endpoint, EndpointInput, EndpointOutput } from '../../api/endpoint.ts';
import { isVersion } from '../../api/releases.ts';
import { CumulusError } from '../../core/errors.ts';
import type { Caller } from '../services/caller.ts';
import type { Services } from '../services/index.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call the route; routes without it are public. */
    access?: Access;
    /** Backup route: refused with 426 to agents below the minimum version. */
    backup?: boolean;
  }
  interface FastifyRequest {
    caller: Caller | null;
  }
}

/** RouteContext is what a handler gets: validated input, the caller (null on public routes) and the address. */
export interface RouteContext<E extends Endpoint> {
  input: EndpointInput<E>;
  caller: E['access'] extends 'public' ? null : Caller;
  ip: string;
  agentVersion: string | undefined;
}

export interface RouteOptions {
  /** A per-address limit of this route alone, instead of the global one. */
  rateLimit?: { max: number; timeWindow: number };
  /**
   * A stricter per-address limit than the global one, for routes that check secrets: one
   * hook, and so one count, shared by every such route.
   */
  secretLimit?: onRequestHookHandler;
}

/**
 * agentVersionOf reads the agent-version header; anything but a version (a version is at
 * most 93 characters) is refused before it can be stored and listed to other devices.
 */
export function agentVersionOf(request: FastifyRequest): string | undefined {
  const value = request.headers[AGENT_VERSION_HEADER];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !isVersion(value)) {
    throw new CumulusError('invalid_input', `the ${AGENT_VERSION_HEADER} header is not an agent version`, {
      hint: 'send MAJOR.MINOR.PATCH, with an optional -pre-release',
    });
  }
  return value;
}

function bearerToken(request: FastifyRequest): string {
  const header = request.headers.authorization;
  const match = typeof header === 'string' ? /^Bearer (\S+)$/i.exec(header) : null;
  if (!match) {
    throw new CumulusError('unauthorized', 'this request needs a signed-in device', {
      hint: 'sign in with `cumulus login`, then send the token as "Authorization: Bearer <token>"',
    });
  }
  return match[1];
}

/**
 * installAccessHooks authenticates session and admin routes and turns away outdated
 * agents from backup routes, before any body is read.
 */
export function installAccessHooks(app: FastifyInstance, services: Services): void {
  app.decorateRequest('caller', null);
  app.addHook('onRequest', async (request) => {
    const config = request.routeOptions.config;
    if (config.backup) await services.releases.requireSupported(agentVersionOf(request));
    if (config.access === 'session' || config.access === 'admin') {
      request.caller = await services.sessions.authenticate(
        bearerToken(request),
        request.ip,
        agentVersionOf(request),
      );
      if (config.access === 'admin' && request.caller.role !== 'admin') {
        throw new CumulusError('forbidden', 'this needs an admin account', {
          hint: 'sign in with an admin account',
        });
      }
    }
  });
}

export function route<E extends Endpoint>(
  app: FastifyInstance,
  endpoint: E,
  handler: (context: RouteContext<E>) => Promise<EndpointOutput<E>>,
  options: RouteOptions = {},
): void {
  app.route({
    method: endpoint.method,
    url: endpoint.url,
    config: {
      access: endpoint.access,
      backup: endpoint.backup ?? false,
      ...(options.rateLimit ? { rateLimit: options.rateLimit } : {}),
    },
    ...(options.secretLimit ? { onRequest: options.secretLimit } : {}),
    schema: {
      summary: endpoint.summary,
      tags: [endpoint.tag],
      ...(endpoint.access === 'public' ? {} : { security: [{ bearer: [] }] }),
      ...(endpoint.params ? { params: endpoint.params } : {}),
      ...(endpoint.query ? { querystring: endpoint.query } : {}),
      ...(endpoint.body ? { body: endpoint.body } : {}),
      response: { 200: endpoint.response, '4xx': ErrorBody, '5xx': ErrorBody },
    },
    handler: async (request) =>
      handler({
        input: { params: request.params, query: request.query, body: request.body } as EndpointInput<E>,
        caller: request.caller as RouteContext<E>['caller'],
        ip: request.ip,
        agentVersion: agentVersionOf(request),
      }),
  });
}

/** done waits for a service call that returns nothing and answers `{ ok: true }`. */
export async function done(work: Promise<void>): Promise<{ ok: true }> {
  await work;
  return { ok: true };
}
