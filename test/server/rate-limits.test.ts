/**
 * The generic rate limit: a signed-in device is counted by its session, not its address,
 * so devices behind one address each have their own budget; requests without a session
 * are counted per address. Low limits are set here on purpose, for this test only.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as repo from '../../src/api/repository.ts';
import { DEFAULTS } from '../../src/server/config.ts';
import {
  approvedDevice,
  clientOf,
  createAccount,
  firstDevice,
  request,
  startTestServer,
  type TestServer,
} from './helpers.ts';

const PASSWORD = 'rate limit password';

describe('rate limits per session', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({
      config: { rateLimit: { ...DEFAULTS.rateLimit, perMinute: 40, sessionPerMinute: 5 } },
    });
  });
  after(() => server.close());

  it('limits each device by its session, whatever address it shares with others', async () => {
    await createAccount(server, 'ana@example.com', PASSWORD);
    const one = (await firstDevice(server, 'ana@example.com', PASSWORD)).state;
    const two = await approvedDevice(server, one, PASSWORD, 'tablet');
    const statuses = async (token: string, count: number) => {
      const out: number[] = [];
      for (let i = 0; i < count; i++)
        out.push((await request(server.url, 'GET', '/api/repo/usage', { token })).status);
      return out;
    };
    // The device `two` already used a few requests of its own budget to sign in and approve.
    assert.deepEqual(await statuses(one.token, 7).then((s) => s.slice(-2)), [429, 429]);
    const limited = await request(server.url, 'GET', '/api/repo/usage', { token: one.token });
    assert.equal(limited.body.error.code, 'rate_limited');
    assert.ok(Number(limited.headers.get('retry-after')) > 0, 'the answer says when to come back');
    const fresh = await clientOf(two).call(repo.getUsage, {});
    assert.equal(fresh.snapshots, 0, 'another device behind the same address is not limited');
    const anonymous = await request(server.url, 'GET', '/api/status');
    assert.equal(anonymous.status, 200, 'requests without a session count per address, apart');
  });
});
