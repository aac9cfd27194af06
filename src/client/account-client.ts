/**
 * AccountClient calls the Cumulus server's HTTP API through the endpoint definitions of
 * src/api, so requests and responses are typed by the same schemas the server validates.
 * Every request carries the agent version; a JSON error comes back as the CumulusError
 * the server raised (same code, message and hint); an unreachable server is 'network'.
 */
import pkg from '../../package.json' with { type: 'json' };
import { AGENT_VERSION_HEADER, type ErrorBody } from '../api/common.ts';
import { type Endpoint, type EndpointInput, type EndpointOutput, pathOf } from '../api/endpoint.ts';
import { CumulusError, type ErrorCode } from '../core/errors.ts';

/** CLIENT_VERSION is this program's version, sent as the agent version. */
export const CLIENT_VERSION: string = pkg.version;

export interface AccountClientOptions {
  serverUrl: string;
  /** The device's session token, for routes that need a signed-in device. */
  token?: string;
  agentVersion?: string;
  /** Give up on a request after this long (default 30 s). */
  timeoutMs?: number;
}

/** normalizeServerUrl checks a server address and drops a trailing slash. */
export function normalizeServerUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new CumulusError('usage', `"${text}" is not a server address`, {
      hint: 'give the full address, like http://127.0.0.1:8080',
    });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CumulusError('usage', `"${text}" is not an http(s) address`, {
      hint: 'give the full address, like https://backup.example.com',
    });
  }
  return url.toString().replace(/\/+$/, '');
}

export class AccountClient {
  readonly serverUrl: string;
  readonly #token: string | undefined;
  readonly #agentVersion: string;
  readonly #timeoutMs: number;

  constructor(options: AccountClientOptions) {
    this.serverUrl = normalizeServerUrl(options.serverUrl);
    this.#token = options.token;
    this.#agentVersion = options.agentVersion ?? CLIENT_VERSION;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
  }

  /** withToken returns a client for the same server acting as a signed-in device. */
  withToken(token: string): AccountClient {
    return new AccountClient({
      serverUrl: this.serverUrl,
      token,
      agentVersion: this.#agentVersion,
      timeoutMs: this.#timeoutMs,
    });
  }

  async call<E extends Endpoint>(endpoint: E, input: EndpointInput<E>): Promise<EndpointOutput<E>> {
    const { params, query, body } = input as {
      params?: Record<string, string>;
      query?: Record<string, unknown>;
      body?: unknown;
    };
    const url = new URL(this.serverUrl + pathOf(endpoint.url, params));
    for (const [name, value] of Object.entries(query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }
    const headers: Record<string, string> = {
      accept: 'application/json',
      [AGENT_VERSION_HEADER]: this.#agentVersion,
    };
    if (this.#token) headers.authorization = `Bearer ${this.#token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(url, {
        method: endpoint.method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (error) {
      throw new CumulusError(
        'network',
        `cannot reach the Cumulus server at ${this.serverUrl}: ${reasonOf(error)}`,
        {
          hint: 'check the address and the network; the server may be down (its /status page says)',
          cause: error,
        },
      );
    }
    const text = await response.text();
    if (response.ok) return JSON.parse(text) as EndpointOutput<E>;
    throw errorFromResponse(response.status, text, this.serverUrl);
  }
}

function reasonOf(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code) return cause.code;
  return error instanceof Error ? error.message : String(error);
}

/** errorFromResponse rebuilds the server's CumulusError from its JSON error body. */
export function errorFromResponse(status: number, text: string, serverUrl: string): CumulusError {
  let parsed: ErrorBody | undefined;
  try {
    parsed = JSON.parse(text) as ErrorBody;
  } catch {}
  const error = parsed?.error;
  if (!error || typeof error.code !== 'string' || typeof error.message !== 'string') {
    return new CumulusError(
      'network',
      `the server at ${serverUrl} answered HTTP ${status} without a Cumulus error`,
      {
        hint: 'check the address: a proxy or another service may be answering',
      },
    );
  }
  // A failing or not-ready server is, for the client, like a network fault: worth retrying
  // (behind a load balancer, on another replica).
  const transient = status >= 500 && (error.code === 'internal' || error.code === 'unavailable');
  const code = (transient ? 'network' : error.code) as ErrorCode;
  return new CumulusError(code, error.message, {
    hint: error.hint,
    details: { ...error.details, httpStatus: status },
  });
}
