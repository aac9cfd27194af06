/**
 * The one place where errors become HTTP responses: a CumulusError's code picks the
 * status, Fastify's own client errors (bad JSON, schema violations, oversized bodies,
 * wrong content types) become 4xx with our JSON shape, and anything else is a bug: 500
 * with a generic message, logged with its stack.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorBody } from '../../api/common.ts';
import { CumulusError, type ErrorCode, isCumulusError } from '../../core/errors.ts';

/** HTTP_STATUS maps each error code to its status; a code missing here is answered with 400. */
export const HTTP_STATUS: Partial<Record<ErrorCode, number>> = {
  usage: 400,
  invalid_input: 400,
  wrong_password: 401,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  not_a_repository: 404,
  snapshot_not_found: 404,
  blob_missing: 404,
  source_missing: 404,
  conflict: 409,
  repository_exists: 409,
  target_not_empty: 409,
  expired: 410,
  too_large: 413,
  unsupported_media_type: 415,
  corrupt: 422,
  key_damaged: 422,
  update_required: 426,
  rate_limited: 429,
  network: 502,
  unavailable: 503,
  quota_exceeded: 507,
  disk_full: 507,
};

/** CLIENT_ERRORS turns Fastify's own 4xx statuses into our codes. */
const CLIENT_ERRORS: Record<number, ErrorCode> = {
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  413: 'too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
};

const CLIENT_HINTS: Record<number, string> = {
  400: 'check the request against the API documentation at /api/docs',
  413: 'the request body is larger than this route accepts',
  415: 'send JSON with "Content-Type: application/json"',
};

function body(code: string, message: string, hint?: string, details?: Record<string, unknown>): ErrorBody {
  return { error: { code, message, ...(hint ? { hint } : {}), ...(details ? { details } : {}) } };
}

/** toHttpError returns the status and body for any error thrown while handling a request. */
export function toHttpError(error: unknown): { status: number; body: ErrorBody } {
  if (isCumulusError(error)) {
    return {
      status: HTTP_STATUS[error.code] ?? 400,
      body: body(error.code, error.message, error.hint, error.details),
    };
  }
  const fastifyError = error as FastifyError;
  if (fastifyError.validation) {
    return {
      status: 400,
      body: body('invalid_input', `invalid request: ${fastifyError.message}`, CLIENT_HINTS[400]),
    };
  }
  const status = fastifyError.statusCode;
  if (status !== undefined && status >= 400 && status < 500) {
    return {
      status,
      body: body(CLIENT_ERRORS[status] ?? 'invalid_input', fastifyError.message, CLIENT_HINTS[status]),
    };
  }
  return {
    status: 500,
    body: body(
      'internal',
      'the server failed on this request',
      'try again; if it keeps failing, tell the admin (the server log has details)',
    ),
  };
}

export function errorHandler(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const { status, body: payload } = toHttpError(error);
  if (status >= 500) request.log.error({ err: error }, 'request failed');
  const retryAfter = payload.error.details?.retryAfterSeconds;
  if (typeof retryAfter === 'number') reply.header('retry-after', String(retryAfter));
  return reply.status(status).send(payload);
}

export function notFoundHandler(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const path = request.url.split('?')[0];
  return reply
    .status(404)
    .send(
      body('not_found', `there is no ${request.method} ${path}`, 'see the API documentation at /api/docs'),
    );
}

/** rateLimitError is what @fastify/rate-limit throws when an address sends too many requests. */
export function rateLimitError(
  _request: FastifyRequest,
  context: { after: string; ttl: number },
): CumulusError {
  return new CumulusError('rate_limited', `too many requests: retry in ${context.after}`, {
    hint: 'slow down; the limit resets by itself',
    details: { retryAfterSeconds: Math.ceil(context.ttl / 1000) },
  });
}
