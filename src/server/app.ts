/**
 * buildApp makes the Fastify app of the Cumulus server from its services: security
 * headers, rate limits, body limits, JSON-only bodies, the error mapping, the OpenAPI
 * document (/api/openapi.json, browsable at /api/docs) and every route. It does not
 * listen; start.ts does.
 */
import helmet from '@fastify/helmet';
import rateLimit, { type FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import type { RateLimits } from './config.ts';
import { type ConnectionLimits, installConnectionLimits, nodeServerOptions } from './http/connections.ts';
import { serveConsole } from './http/console.ts';
import { errorHandler, rateLimitError } from './http/errors.ts';
import { countedStore } from './http/rate-limit-store.ts';
import { installAccessHooks, type RouteOptions } from './http/route.ts';
import { accountRoutes } from './routes/account.ts';
import { adminRoutes } from './routes/admin.ts';
import { authRoutes } from './routes/auth.ts';
import { deviceRoutes } from './routes/devices.ts';
import { lifecycleRoutes } from './routes/lifecycle.ts';
import { notificationRoutes } from './routes/notifications.ts';
import { planRoutes } from './routes/plans.ts';
import { releaseRoutes } from './routes/releases.ts';
import { repositoryRoutes } from './routes/repository.ts';
import { statusRoutes } from './routes/status.ts';
import type { Services } from './services/index.ts';
import { RequestCounts } from './services/request-counts.ts';
import { addressKey } from './services/throttle.ts';

export interface AppOptions {
  services: Services;
  logger: FastifyServerOptions['logger'];
  /** Trust X-Forwarded-* from a reverse proxy: true, or the proxy's addresses. */
  trustProxy: boolean | string;
  https?: { cert: Buffer; key: Buffer };
  rateLimit: RateLimits;
  /** Largest JSON body in bytes. */
  bodyLimit: number;
  connections: ConnectionLimits;
  /** The web console's built files (web/dist). */
  consoleDir: string;
}

/**
 * LOG_REDACT lists where a secret could appear in a log line; they are censored even if
 * something logs a request's headers or body by mistake.
 */
export const LOG_REDACT = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.body',
  'body',
  '*.authKey',
  '*.currentAuthKey',
  '*.recoveryAuthKey',
  '*.password',
  '*.token',
  '*.signInToken',
  '*.secret',
  '*.wrappedKey',
  '*.recoveryWrappedKey',
];

/** A request is logged by method, path (never the query string) and address. */
const REQUEST_SERIALIZER = {
  req: (request: { method: string; url: string; ip?: string }) => ({
    method: request.method,
    path: request.url.split('?')[0],
    ip: request.ip,
  }),
};

/** byAddress keys a rate limit by the client's address: public routes, and the routes that check a secret. */
function byAddress(request: FastifyRequest): string {
  return `address:${addressKey(request.ip)}`;
}

/**
 * sharedCounts counts the request limits in the database when replicas can share it
 * (PostgreSQL), so all of them spend one budget; the embedded server is one process,
 * whose own memory counts exactly and costs a request nothing (ARCHITECTURE.md).
 */
function sharedCounts(app: FastifyInstance, services: Services): { store?: FastifyRateLimitStoreCtor } {
  if (services.db.kind !== 'postgres') return {};
  const counts = new RequestCounts(services.db, {
    onOutage: (error) =>
      app.log.warn(
        { reason: error instanceof Error ? error.message : String(error) },
        'rate limits are counted in this process alone until the database answers again',
      ),
    onRecovery: () => app.log.info('rate limits are counted in the database again'),
  });
  return { store: countedStore(counts) };
}

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { services } = options;
  const logger =
    options.logger && typeof options.logger === 'object'
      ? {
          ...options.logger,
          redact: { paths: LOG_REDACT, censor: '[redacted]' },
          serializers: REQUEST_SERIALIZER,
        }
      : options.logger;
  const app = Fastify({
    logger,
    trustProxy: options.trustProxy,
    bodyLimit: options.bodyLimit,
    // A JSON type list (`['number', 'boolean']`) is the one schema ajv will not coerce across.
    ajv: { customOptions: { allowUnionTypes: true } },
    ...nodeServerOptions(options.connections),
    ...(options.https ? { https: options.https } : {}),
  });

  app.setErrorHandler(errorHandler);
  // JSON is the only body this API reads; anything else is refused with 415.
  app.removeContentTypeParser('text/plain');

  await app.register(helmet, {
    contentSecurityPolicy: { directives: { upgradeInsecureRequests: options.https ? [] : null } },
  });
  const limits = options.rateLimit;
  await app.register(rateLimit, {
    ...sharedCounts(app, services),
    // The limit runs after the access hook (route hooks follow the app's), so a signed-in
    // device is counted by its session: a household's devices behind one address do not
    // share one budget, and a device keeps its own wherever it goes.
    keyGenerator: (request: FastifyRequest) =>
      request.caller === null ? byAddress(request) : `session:${request.caller.sessionId}`,
    max: (request: FastifyRequest) => (request.caller === null ? limits.perMinute : limits.sessionPerMinute),
    timeWindow: 60_000,
    errorResponseBuilder: rateLimitError,
  });
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Cumulus server API',
        version: '1',
        description: 'End-to-end encrypted device backup: accounts, devices, plans, status.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
  });
  await app.register(swaggerUi, {
    routePrefix: '/api/docs',
    staticCSP: true,
    transformStaticCSP: (header) =>
      options.https ? header : header.replace('upgrade-insecure-requests;', ''),
  });
  app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  installAccessHooks(app, services);
  installConnectionLimits(app, options.connections);
  const secretRoutes: RouteOptions = {
    secretLimit: app.rateLimit({
      groupId: 'secret',
      max: limits.secretPerMinute,
      timeWindow: 60_000,
      keyGenerator: byAddress,
    }),
  };
  authRoutes(app, services, secretRoutes);
  accountRoutes(app, services, secretRoutes);
  deviceRoutes(app, services);
  lifecycleRoutes(app, services);
  notificationRoutes(app, services);
  planRoutes(app, services);
  statusRoutes(app, services);
  releaseRoutes(app, services);
  adminRoutes(app, services);
  await repositoryRoutes(app, services);
  await serveConsole(app, options.consoleDir);
  return app;
}
