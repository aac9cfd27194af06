/**
 * Connection limits: how long a client may take to send its headers and its request, how
 * long an idle connection stays open, and how many connections are open at once, so that
 * slow or idle clients cannot hold the server's sockets and memory.
 */
import type { FastifyInstance, FastifyServerOptions } from 'fastify';

export interface ConnectionLimits {
  /** The headers must arrive within this long. */
  headersTimeoutMs: number;
  /** A whole request (headers and body) must arrive within this long: room for a 16 MiB pack on a slow link. */
  requestTimeoutMs: number;
  /** A request without a valid session (small JSON bodies only) must arrive within this long. */
  anonymousRequestTimeoutMs: number;
  /** A connection on which nothing moves for this long is closed. */
  idleTimeoutMs: number;
  /** Open connections at once; the next ones are dropped until some close. */
  maxConnections: number;
}

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  headersTimeoutMs: 20_000,
  requestTimeoutMs: 10 * 60_000,
  anonymousRequestTimeoutMs: 30_000,
  idleTimeoutMs: 120_000,
  maxConnections: 1000,
};

/** nodeServerOptions are the Fastify and Node http options that enforce the limits. */
export function nodeServerOptions(limits: ConnectionLimits): Partial<FastifyServerOptions> & {
  http: { headersTimeout: number; connectionsCheckingInterval: number };
} {
  return {
    requestTimeout: limits.requestTimeoutMs,
    connectionTimeout: limits.idleTimeoutMs,
    keepAliveTimeout: Math.min(limits.idleTimeoutMs, 72_000),
    // Node checks the header and request timeouts on this beat (30 s by default), so a
    // trickle would outlive a short timeout by up to that much.
    http: {
      headersTimeout: limits.headersTimeoutMs,
      connectionsCheckingInterval: Math.min(5_000, Math.ceil(limits.headersTimeoutMs / 2)),
    },
  };
}

/**
 * installConnectionLimits caps the open connections, and gives a request that carries no
 * valid session only `anonymousRequestTimeoutMs` to arrive whole: such requests have small
 * JSON bodies, so an anonymous client trickling a byte at a time is cut long before the
 * request timeout that a signed-in device's pack upload needs. Call it after the hook
 * that authenticates, which sets `request.caller`.
 */
export function installConnectionLimits(app: FastifyInstance, limits: ConnectionLimits): void {
  app.server.maxConnections = limits.maxConnections;
  const deadlines = new WeakMap<object, NodeJS.Timeout>();
  const clear = async (request: object) => clearTimeout(deadlines.get(request));
  app.addHook('onRequest', async (request) => {
    if (request.caller !== null) return;
    deadlines.set(request, setTimeout(() => request.raw.destroy(), limits.anonymousRequestTimeoutMs).unref());
  });
  // The body has arrived (or the request was answered): the deadline no longer applies.
  app.addHook('preValidation', clear);
  app.addHook('onResponse', clear);
}
