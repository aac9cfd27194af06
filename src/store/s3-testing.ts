/**
 * Test helpers for S3: an s3rver (an S3-protocol server in Node, no conditional PUT) on a
 * loopback port, and FaultyS3, an HTTP front of it that injects the faults object storage
 * has: a dropped connection, 500 InternalError, 503 SlowDown, a body cut off midway, and a
 * PUT acknowledged but never stored. Requests pass through unchanged otherwise (the
 * signature covers the Host header, which is forwarded as sent).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import S3rver from 's3rver';
import { S3BlobStore } from './s3-blob-store.ts';
import { type S3Settings, s3Client } from './s3-client.ts';

export const TEST_BUCKET = 'cumulus-test';
/** s3rver's fixed credentials. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/** An S3 endpoint started by a test, with the bucket it serves. */
export interface TestS3 {
  endpoint: string;
  bucket: string;
  /** The AWS variables a process needs to reach it (with CUMULUS_BLOB_STORE=s3://bucket/...). */
  env: Record<string, string>;
}

export interface RunningS3 extends TestS3 {
  close(): Promise<void>;
}

function envFor(endpoint: string): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
  };
}

/** startS3rver runs an s3rver on a free loopback port with one empty bucket, TEST_BUCKET. */
export async function startS3rver(): Promise<RunningS3> {
  const directory = await mkdtemp(join(tmpdir(), 'cumulus-s3rver-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: [{ name: TEST_BUCKET, configs: [] }],
  });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    bucket: TEST_BUCKET,
    env: envFor(endpoint),
    close: async () => {
      // A client killed mid-request (a replica's SIGKILL in the scale-out test) leaves a
      // connection that would hold close() open for good.
      (server as unknown as { httpServer?: import('node:http').Server }).httpServer?.closeAllConnections();
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/** settingsFor are S3Settings for an endpoint started here, under `prefix`. */
export function settingsFor(s3: TestS3, prefix: string): S3Settings {
  return {
    bucket: s3.bucket,
    prefix,
    endpoint: s3.endpoint,
    region: 'us-east-1',
    credentials: async () => S3RVER_CREDENTIALS,
  };
}

/** s3StoreAt opens an S3BlobStore on an endpoint started here, under a fresh random prefix. */
export function s3StoreAt(
  s3: TestS3,
  options: { maxAttempts?: number; prefix?: string } = {},
): { store: S3BlobStore; close(): void } {
  const prefix = options.prefix ?? `t-${randomBytes(6).toString('hex')}`;
  const client = s3Client(settingsFor(s3, prefix), { maxAttempts: options.maxAttempts });
  return { store: new S3BlobStore(client, { bucket: s3.bucket, prefix }), close: () => client.destroy() };
}

export type S3Fault = 'drop' | 'internalError' | 'slowDown' | 'truncate' | 'losePut';

interface Rule {
  fault: S3Fault;
  method?: string;
  key?: RegExp;
  left: number;
}

/** applies says whether a fault can hit a request: a body is cut off only on a GET, a write lost only on a PUT. */
function applies(fault: S3Fault, method: string | undefined): boolean {
  if (fault === 'truncate') return method === 'GET';
  if (fault === 'losePut') return method === 'PUT';
  return true;
}

const ERROR_XML = {
  internalError: [500, 'InternalError', 'We encountered an internal error. Please try again.'],
  slowDown: [503, 'SlowDown', 'Please reduce your request rate.'],
} as const;

/**
 * FaultyS3 forwards S3 requests to an upstream endpoint and injects faults: a rule
 * applies to the next `times` requests it matches (method, key pattern), and `rotate`
 * turns on a steady rotation of the retryable faults. `counts` tells what was injected.
 */
export class FaultyS3 implements TestS3 {
  readonly #server: Server;
  readonly #upstream: URL;
  readonly bucket: string;
  endpoint = '';
  env: Record<string, string> = {};
  #rules: Rule[] = [];
  #every = 0;
  #seen = 0;
  readonly counts: Record<S3Fault | 'requests', number> = {
    requests: 0,
    drop: 0,
    internalError: 0,
    slowDown: 0,
    truncate: 0,
    losePut: 0,
  };

  private constructor(upstream: TestS3) {
    this.#upstream = new URL(upstream.endpoint);
    this.bucket = upstream.bucket;
    this.#server = createServer((req, res) => this.#handle(req, res));
  }

  static async start(upstream: TestS3): Promise<FaultyS3> {
    const faulty = new FaultyS3(upstream);
    await new Promise<void>((resolve) => faulty.#server.listen(0, '127.0.0.1', resolve));
    faulty.endpoint = `http://127.0.0.1:${(faulty.#server.address() as AddressInfo).port}`;
    faulty.env = envFor(faulty.endpoint);
    return faulty;
  }

  /** inject makes the next `times` (default 1) matching requests fail with `fault`. */
  inject(fault: S3Fault, match: { method?: string; key?: RegExp; times?: number } = {}): void {
    this.#rules.push({ fault, method: match.method, key: match.key, left: match.times ?? 1 });
  }

  /** rotate injects a retryable fault into every `every`-th first attempt of a request (0: off). */
  rotate(every: number): void {
    this.#every = every;
    this.#seen = 0;
  }

  clear(): void {
    this.#rules = [];
    this.#every = 0;
  }

  #pick(req: IncomingMessage): S3Fault | undefined {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const rule = this.#rules.find(
      (r) =>
        r.left > 0 &&
        applies(r.fault, req.method) &&
        (r.method === undefined || r.method === req.method) &&
        (r.key?.test(path) ?? true),
    );
    if (rule !== undefined) {
      rule.left--;
      return rule.fault;
    }
    // The rotation hits first attempts only, so each request gets through within its retries.
    const retry = !/attempt=1;/.test(String(req.headers['amz-sdk-request'] ?? 'attempt=1;'));
    if (this.#every > 0 && !retry && ++this.#seen % this.#every === 0) {
      const rotation: S3Fault[] = ['drop', 'slowDown', 'internalError', 'truncate'];
      const fault = rotation[(this.#seen / this.#every) % rotation.length];
      return applies(fault, req.method) ? fault : 'drop';
    }
    return undefined;
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    this.counts.requests++;
    const fault = this.#pick(req);
    if (fault !== undefined) this.counts[fault]++;
    if (fault === 'drop') {
      req.socket.destroy();
      return;
    }
    if (fault === 'internalError' || fault === 'slowDown' || fault === 'losePut') {
      req.resume();
      req.on('end', () => {
        if (fault === 'losePut') {
          res.writeHead(200, { ETag: `"${randomBytes(16).toString('hex')}"`, 'Content-Length': 0 });
          res.end();
          return;
        }
        const [status, code, message] = ERROR_XML[fault];
        const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`;
        res.writeHead(status, {
          'Content-Type': 'application/xml',
          'Content-Length': Buffer.byteLength(xml),
        });
        res.end(xml);
      });
      return;
    }
    const upstream = request(
      {
        host: this.#upstream.hostname,
        port: this.#upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        const length = Number(answer.headers['content-length'] ?? 0);
        if (fault !== 'truncate' || length < 2) {
          answer.pipe(res);
          return;
        }
        let left = length >> 1;
        answer.on('data', (chunk: Buffer) => {
          if (left <= 0) return;
          res.write(chunk.subarray(0, left));
          left -= chunk.length;
          if (left <= 0) {
            answer.destroy();
            res.socket?.destroy();
          }
        });
      },
    );
    upstream.on('error', () => res.socket?.destroy());
    req.pipe(upstream);
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise((resolve) => this.#server.close(resolve));
  }
}

/**
 * withS3 starts an s3rver and a FaultyS3 in front of it before the file's tests and closes
 * both after them; the getters answer once `before` has run.
 */
export function withS3(): { s3(): RunningS3; faulty(): FaultyS3 } {
  let s3: RunningS3 | undefined;
  let faulty: FaultyS3 | undefined;
  before(async () => {
    s3 = await startS3rver();
    faulty = await FaultyS3.start(s3);
  });
  after(async () => {
    await faulty?.close();
    await s3?.close();
  });
  return { s3: () => s3!, faulty: () => faulty! };
}
