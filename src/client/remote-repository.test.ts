import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { CumulusError } from '../core/errors.ts';
import { RemoteRepository, rateLimitWaitMs } from './remote-repository.ts';

const CONFIG = {
  version: 1 as const,
  id: 'a'.repeat(32),
  chunker: { min: 512 << 10, avg: 1 << 20, max: 8 << 20 },
  created: new Date(0).toISOString(),
};

describe('RemoteRepository under a rate limit', () => {
  let server: ReturnType<typeof createServer>;
  let url: string;
  const seen: { path: string; at: number }[] = [];
  /** The server answers 429 to the first `limited` requests of each path. */
  let limited = 0;
  const answered = new Map<string, number>();

  before(async () => {
    server = createServer((request: IncomingMessage, response: ServerResponse) => {
      request.resume();
      request.on('end', () => {
        const path = request.url ?? '';
        seen.push({ path, at: Date.now() });
        const count = answered.get(path) ?? 0;
        answered.set(path, count + 1);
        response.setHeader('content-type', 'application/json');
        if (count < limited) {
          response.statusCode = 429;
          response.setHeader('retry-after', '0');
          response.end(
            JSON.stringify({
              error: {
                code: 'rate_limited',
                message: 'too many requests',
                details: { retryAfterSeconds: 0 },
              },
            }),
          );
          return;
        }
        if (path === '/api/repo/blobs/missing') response.end(JSON.stringify({ missing: [] }));
        else if (path === '/api/repo/sessions')
          response.end(JSON.stringify({ sessionId: 'f'.repeat(32), heartbeatSeconds: 60 }));
        else response.end(JSON.stringify({ snapshots: [] }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('waits out every 429 and carries on, more often than the retry policy allows for dropped connections', async () => {
    limited = 3;
    answered.clear();
    const repo = new RemoteRepository({
      serverUrl: url,
      token: 't',
      config: CONFIG,
      retry: { attempts: 1, baseDelayMs: 0, maxDelayMs: 0 },
    });
    try {
      const started = Date.now();
      assert.deepEqual(await repo.missingBlobs(['0'.repeat(64)]), new Set());
      assert.deepEqual(await repo.listSnapshots(), []);
      await repo.beginWrite();
      assert.equal(answered.get('/api/repo/blobs/missing'), 4, 'three refusals, then the answer');
      assert.equal(answered.get('/api/repo/snapshots?device=all'), 4);
      assert.equal(answered.get('/api/repo/sessions'), 4, 'beginWrite waits out a 429 too');
      assert.ok(Date.now() - started < 15_000);
    } finally {
      await repo.close();
    }
  });

  it('waits as long as Retry-After says, with up to a second of jitter', () => {
    const error = new CumulusError('rate_limited', 'too many', { details: { retryAfterSeconds: 7 } });
    assert.equal(
      rateLimitWaitMs(error, () => 0),
      7000,
    );
    assert.equal(
      rateLimitWaitMs(error, () => 0.999),
      7999,
    );
    assert.equal(
      rateLimitWaitMs(new CumulusError('rate_limited', 'no header'), () => 0),
      1000,
    );
  });
});
