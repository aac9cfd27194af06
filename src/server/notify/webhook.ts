/**
 * postJson sends one webhook: a JSON POST through node:http(s), with the address guard
 * applied to every address the host name resolves to at connection time (a name cannot
 * pass a check and then point inward), a deadline on the whole exchange, no redirects
 * followed (a redirect could lead inward), and at most a few KiB of the answer read.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { type AddressGuard, bareHost } from './address-guard.ts';
import { DeliveryError } from './retry.ts';

const MAX_ANSWER_BYTES = 16 * 1024;

/** guardedLookup resolves like the system does, then refuses when any address is one the guard forbids. */
function guardedLookup(guard: AddressGuard, host: string): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) return callback(new DeliveryError('dns', true, { cause: error }), '', 0);
      if (addresses.length === 0 || addresses.some((a) => !guard.mayReach(host, a.address))) {
        return callback(new DeliveryError('private_address', false), '', 0);
      }
      if (options.all) return (callback as (e: null, a: LookupAddress[]) => void)(null, addresses);
      callback(null, addresses[0].address, addresses[0].family);
    });
  };
}

/** errorCode names a connection failure without its message (which can quote the host). */
function failureOf(error: unknown): DeliveryError {
  if (error instanceof DeliveryError) return error;
  const cause = (error as { cause?: unknown }).cause;
  if (cause instanceof DeliveryError) return cause;
  const name = (error as { name?: string }).name;
  if (name === 'AbortError' || name === 'TimeoutError') return new DeliveryError('timeout', true);
  const code = (error as NodeJS.ErrnoException).code;
  return new DeliveryError(typeof code === 'string' ? code.toLowerCase() : 'connection', true, {
    cause: error,
  });
}

export interface PostOptions {
  guard: AddressGuard;
  /** The deadline of one attempt: connecting, sending and the answer's status and first bytes. */
  timeoutMs: number;
  headers?: Record<string, string>;
}

/** postJson resolves on a 2xx answer and throws DeliveryError otherwise (`http_<status>`, `timeout`, …). */
export async function postJson(url: URL, body: unknown, options: PostOptions): Promise<void> {
  const host = bareHost(url);
  if (options.guard.refusesUpFront(url)) throw new DeliveryError('private_address', false);
  const payload = Buffer.from(JSON.stringify(body));
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const requestOptions: RequestOptions = {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'content-length': String(payload.length),
      'user-agent': 'Cumulus',
      ...options.headers,
    },
    lookup: guardedLookup(options.guard, host),
    signal: AbortSignal.timeout(options.timeoutMs),
  };
  const status = await new Promise<number>((resolve, reject) => {
    const outgoing = request(url, requestOptions, (answer) => {
      let read = 0;
      answer.on('data', (chunk: Buffer) => {
        read += chunk.length;
        if (read > MAX_ANSWER_BYTES) answer.destroy();
      });
      answer.on('error', () => {});
      answer.on('close', () => resolve(answer.statusCode ?? 0));
    });
    outgoing.on('error', (error) => reject(failureOf(error)));
    outgoing.end(payload);
  });
  if (status >= 200 && status < 300) return;
  // A 4xx will be the same next time (a wrong token, a deleted hook), except a rate limit.
  throw new DeliveryError(`http_${status}`, status >= 500 || status === 429 || status === 408);
}
