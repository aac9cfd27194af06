/**
 * Graceful shutdown, what a load balancer and a rolling restart rely on: an upload in
 * flight when the server is told to stop finishes and is stored, while the replica stops
 * taking new connections.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { PackBuilder } from '../../src/core/pack.ts';
import { startTestServer } from './helpers.ts';
import { newAccount, storeOf } from './repository-helpers.ts';

describe('graceful shutdown', () => {
  it('finishes a pack upload that was in flight when the server began to close', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'cumulus-shutdown-'));
    const server = await startTestServer({ dataDir });
    const device = await newAccount(server, 'shutdown@example.com');
    const builder = new PackBuilder();
    for (let i = 0; i < 8; i++) builder.add('data', randomBytes(32).toString('hex'), randomBytes(256 * 1024));
    const pack = builder.finish();
    const bytes = Buffer.from(pack.bytes);
    const url = new URL(`/api/repo/packs/${pack.id}`, server.url);

    const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(
        url,
        {
          method: 'PUT',
          headers: {
            authorization: `Bearer ${device.state.token}`,
            'content-type': 'application/octet-stream',
            'content-length': String(bytes.length),
          },
        },
        (res) => {
          let body = '';
          res.on('data', (chunk) => (body += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      (async () => {
        const half = bytes.length >> 1;
        req.write(bytes.subarray(0, half));
        await sleep(200);
        closing = server.close();
        await sleep(200);
        req.end(bytes.subarray(half));
      })().catch(reject);
    });
    let closing: Promise<void> | undefined;

    const answer = await response;
    assert.equal(answer.status, 200, answer.body);
    await closing;
    await assert.rejects(fetch(server.url), 'a closed server takes no new connection');
    // The pack is in the account's store: reopen the data folder and look.
    const reopened = await startTestServer({ dataDir });
    try {
      const store = await storeOf(reopened, device.state.accountId);
      assert.equal(await store.store.hasPack(pack.id), true);
    } finally {
      await reopened.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
