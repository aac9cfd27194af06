/**
 * ApiClient calls the Cumulus server from the browser through the endpoint definitions of
 * src/api, the same objects the CLI's AccountClient calls, so the console cannot drift
 * from the wire contract. The console is served by the server it talks to: paths are
 * relative to the page's origin. A JSON error comes back as an ApiError with the server's
 * code, message and hint.
 */

import pkg from '../../package.json' with { type: 'json' };
import { AGENT_VERSION_HEADER, type ErrorBody } from '../../src/api/common.ts';
import { type Endpoint, type EndpointInput, type EndpointOutput, pathOf } from '../../src/api/endpoint.ts';

/** CONSOLE_VERSION is the package version, sent like an agent's so the server knows what calls it. */
export const CONSOLE_VERSION: string = pkg.version;

/** ApiError is a failed request: the server's stable code (or 'network'), its message and next step. */
export class ApiError extends Error {
  readonly code: string;
  readonly hint: string | undefined;
  readonly status: number;

  constructor(code: string, message: string, hint?: string, status = 0) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.hint = hint;
    this.status = status;
  }
}

export class ApiClient {
  readonly #token: string | undefined;

  constructor(token?: string) {
    this.#token = token;
  }

  withToken(token: string): ApiClient {
    return new ApiClient(token);
  }

  async call<E extends Endpoint>(endpoint: E, input: EndpointInput<E>): Promise<EndpointOutput<E>> {
    const response = await this.fetch(endpoint, input);
    return (await response.json()) as EndpointOutput<E>;
  }

  /** fetch sends a request and returns the successful response unread (for byte bodies). */
  async fetch<E extends Endpoint>(
    endpoint: E,
    input: EndpointInput<E>,
    init: RequestInit = {},
  ): Promise<Response> {
    const { params, query, body } = input as {
      params?: Record<string, string>;
      query?: Record<string, unknown>;
      body?: unknown;
    };
    const url = new URL(pathOf(endpoint.url, params), location.origin);
    for (const [name, value] of Object.entries(query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }
    const headers = new Headers(init.headers);
    headers.set('accept', headers.get('accept') ?? 'application/json');
    headers.set(AGENT_VERSION_HEADER, CONSOLE_VERSION);
    if (this.#token) headers.set('authorization', `Bearer ${this.#token}`);
    if (body !== undefined) headers.set('content-type', 'application/json');
    let response: Response;
    try {
      response = await fetch(url, {
        ...init,
        method: endpoint.method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      throw new ApiError(
        'network',
        `cannot reach the Cumulus server (${String(error)})`,
        'check the network; the server may be down',
      );
    }
    if (response.ok) return response;
    throw errorOf(response.status, await response.text());
  }
}

function errorOf(status: number, text: string): ApiError {
  let parsed: ErrorBody | undefined;
  try {
    parsed = JSON.parse(text) as ErrorBody;
  } catch {}
  const error = parsed?.error;
  if (!error || typeof error.code !== 'string') {
    return new ApiError(
      'network',
      `the server answered HTTP ${status} without a Cumulus error`,
      'a proxy in front of the server may be failing; try again later',
      status,
    );
  }
  return new ApiError(error.code, error.message, error.hint, status);
}

/** messageOf is what a person reads about a failed action: what happened and the next step. */
export function messageOf(error: unknown): string {
  if (error instanceof ApiError) return error.hint ? `${error.message}. ${error.hint}.` : `${error.message}.`;
  return error instanceof Error ? error.message : String(error);
}
