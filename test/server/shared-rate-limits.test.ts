/**
 * Two server replicas on one PostgreSQL spend one rate-limit budget: a caller sending its
 * requests to both in turn is refused after `max` requests in all, not `max` at each. The
 * replicas trust X-Forwarded-For (as behind HAProxy), so each count below starts on an
 * address of its own. Low limits are set here on purpose, for this test only.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DEFAULTS } from '../../src/server/config.ts';
import { findPostgres, NO_POSTGRES, startPostgres, type TestPostgres } from '../helpers/postgres.ts';
import { createAccount, firstDevice, request, startTestServer, type TestServer } from './helpers.ts';

const PASSWORD = 'shared rate limit password';
const LIMITS = { ...DEFAULTS.rateLimit, perMinute: 9, sessionPerMinute: 11, secretPerMinute: 7 };

describe('rate limits shared by two replicas on one PostgreSQL', {
  skip: findPostgres() === undefined ? NO_POSTGRES : undefined,
}, () => {
  let cluster: TestPostgres;
  let replicas: TestServer[] = [];
  before(async () => {
    cluster = await startPostgres();
    const databaseUrl = await cluster.database();
    const config = { databaseUrl, trustProxy: true, rateLimit: LIMITS };
    replicas = [await startTestServer({ config }), await startTestServer({ config })];
  });
  after(async () => {
    await Promise.all(replicas.map((replica) => replica.close()));
    await cluster?.stop();
  });

  /** inTurn sends `count` requests to the two replicas in turn and returns their answers. */
  async function inTurn(
    count: number,
    method: string,
    path: string,
    options: { token?: string; address?: string; json?: unknown } = {},
  ) {
    const answers = [];
    for (let i = 0; i < count; i++) {
      answers.push(
        await request(replicas[i % 2].url, method, path, {
          ...(options.token ? { token: options.token } : {}),
          ...(options.json === undefined ? {} : { json: options.json }),
          headers: { 'x-forwarded-for': options.address ?? '127.0.0.1' },
        }),
      );
    }
    return answers;
  }

  it('refuses an address after the per-address limit in all, on whichever replica', async () => {
    const statuses = (await inTurn(14, 'GET', '/api/status', { address: '203.0.113.7' })).map(
      (a) => a.status,
    );
    assert.deepEqual(statuses, [...Array(9).fill(200), ...Array(5).fill(429)]);
  });

  it('refuses a device after its session limit in all, counted from what it had left', async () => {
    await createAccount(replicas[0], 'ana@example.com', PASSWORD);
    const { token } = (await firstDevice(replicas[0], 'ana@example.com', PASSWORD)).state;
    const answers = await inTurn(2 * LIMITS.sessionPerMinute, 'GET', '/api/repo/usage', { token });
    assert.equal(answers[0].headers.get('x-ratelimit-limit'), String(LIMITS.sessionPerMinute));
    // Signing in spent a few of the session's requests; the first answer says how many are left.
    const left = Number(answers[0].headers.get('x-ratelimit-remaining'));
    assert.ok(left >= LIMITS.sessionPerMinute - 6, `${left} left`);
    const statuses = answers.map((a) => a.status);
    assert.deepEqual(statuses, [...Array(left + 1).fill(200), ...Array(answers.length - left - 1).fill(429)]);
    assert.equal(answers.at(-1)?.body.error.code, 'rate_limited');
    assert.ok(Number(answers.at(-1)?.headers.get('retry-after')) > 0);
  });

  it('counts the routes that check a secret as one budget across the replicas', async () => {
    const answers = await inTurn(10, 'POST', '/api/auth/login', { address: '203.0.113.9', json: {} });
    assert.deepEqual(
      answers.map((a) => a.status),
      [...Array(7).fill(400), ...Array(3).fill(429)],
      'each malformed sign-in counts; the eighth is refused before it is read',
    );
  });
});
