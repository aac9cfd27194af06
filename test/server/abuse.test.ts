/**
 * Bad input and attacks through real HTTP: growing delays on wrong secrets, the per-address
 * rate limit, forged sign-in tokens, malformed requests (always 4xx JSON, never 500), and
 * logs that never hold a secret.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as auth from '../../src/api/auth.ts';
import { derivePasswordKeys } from '../../src/client/account-keys.ts';
import { saveDeviceState } from '../../src/client/device-state.ts';
import { signIn } from '../../src/client/sign-in.ts';
import { DEFAULTS, parseServerConfig } from '../../src/server/config.ts';
import { runCumulus } from '../helpers/cli.ts';
import {
  approvedDevice,
  clientOf,
  codeFor,
  createAccount,
  device,
  firstDevice,
  type Json,
  pendingSignIn,
  rejectsWith,
  request,
  startTestServer,
  type TestServer,
} from './helpers.ts';

const PASSWORD = 'a fine password';

/** authKeyOf stretches a password as a client would, for raw login requests. */
async function authKeyOf(server: TestServer, email: string, password: string): Promise<string> {
  const { body } = await request(server.url, 'POST', '/api/auth/prelogin', { json: { email } });
  return (await derivePasswordKeys(password, body.kdf)).authKey;
}

describe('growing delays and rate limits', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ config: { rateLimit: { ...DEFAULTS.rateLimit, secretPerMinute: 20 } } });
  });
  after(() => server.close());

  it('after three wrong passwords each attempt must wait twice as long, even with the right password', async () => {
    await createAccount(server, 'amy@example.com', PASSWORD);
    const wrong = () =>
      signIn({ serverUrl: server.url, email: 'amy@example.com', password: 'guess', device: device('x') });
    for (let i = 0; i < 3; i++) await rejectsWith(wrong(), 'wrong_password');
    await rejectsWith(wrong(), 'wrong_password'); // the 4th failure: from now on, wait 1 s
    const right = () =>
      signIn({ serverUrl: server.url, email: 'amy@example.com', password: PASSWORD, device: device('x') });
    const blocked = await request(server.url, 'POST', '/api/auth/login', {
      json: {
        email: 'amy@example.com',
        authKey: await authKeyOf(server, 'amy@example.com', PASSWORD),
        device: device('x'),
      },
    });
    assert.equal(blocked.status, 429);
    assert.equal(blocked.body.error.code, 'rate_limited');
    assert.equal(blocked.headers.get('retry-after'), '1');

    server.clock.advance(1000);
    await rejectsWith(wrong(), 'wrong_password'); // 5th failure: 2 s
    server.clock.advance(1000);
    await rejectsWith(right(), 'rate_limited', /wait 1 s/);
    server.clock.advance(1000);
    assert.ok('state' in (await right()), 'after the wait the right password works, and resets the count');
    await rejectsWith(wrong(), 'wrong_password');
  });

  it('limits requests to secret-checking routes per address', async () => {
    let limited: { status: number; body: Json } | undefined;
    for (let i = 0; i < 25 && !limited; i++) {
      const response = await request(server.url, 'POST', '/api/auth/prelogin', {
        json: { email: 'x@example.com' },
      });
      if (response.status !== 200) limited = response;
    }
    assert.ok(limited, 'the limit of 20 per minute was reached');
    assert.equal(limited.status, 429);
    assert.equal(limited.body.error.code, 'rate_limited');
  });
});

describe('secret guesses sent in parallel', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  const wrongKey = () => randomBytes(32).toString('base64');

  /** burst sends every request at once and counts the answers by status. */
  async function burst(requests: (() => Promise<{ status: number }>)[]): Promise<Map<number, number>> {
    const statuses = await Promise.all(requests.map((send) => send()));
    const counts = new Map<number, number>();
    for (const { status } of statuses) counts.set(status, (counts.get(status) ?? 0) + 1);
    return counts;
  }

  it('22 wrong passwords at once get no more tries than one after another', async () => {
    await createAccount(server, 'par@example.com', PASSWORD);
    const counts = await burst(
      Array.from(
        { length: 22 },
        () => () =>
          request(server.url, 'POST', '/api/auth/login', {
            json: { email: 'par@example.com', authKey: wrongKey(), device: device('x') },
          }),
      ),
    );
    assert.equal(counts.get(401), 4, 'three free failures and the one that starts the wait');
    assert.equal(counts.get(429), 18);
  });

  it('every route that checks the password shares one count: a burst over all of them stops after four', async () => {
    await createAccount(server, 'tok@example.com', PASSWORD);
    const { token } = (await firstDevice(server, 'tok@example.com', PASSWORD)).state;
    const kdf = (
      await request(server.url, 'POST', '/api/auth/prelogin', { json: { email: 'tok@example.com' } })
    ).body.kdf;
    const wrapped = randomBytes(60).toString('base64');
    const bodies: [string, () => Json][] = [
      ['/api/auth/login', () => ({ email: 'tok@example.com', authKey: wrongKey(), device: device('x') })],
      ['/api/account/totp/begin', () => ({ authKey: wrongKey() })],
      ['/api/account/totp/disable', () => ({ authKey: wrongKey() })],
      [
        '/api/account/recovery-key',
        () => ({ authKey: wrongKey(), recovery: { authKey: wrongKey(), wrappedKey: wrapped } }),
      ],
      [
        '/api/account/password',
        () => ({ currentAuthKey: wrongKey(), kdf, authKey: wrongKey(), wrappedKey: wrapped }),
      ],
    ];
    const counts = await burst(
      Array.from({ length: 100 }, (_, i) => {
        const [path, body] = bodies[i % bodies.length];
        return () => request(server.url, 'POST', path, { token, json: body() });
      }),
    );
    assert.equal(counts.get(401), 4, JSON.stringify([...counts]));
    assert.equal(counts.get(429), 96);
  });
});

describe('one per-address limit over every secret route', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ config: { rateLimit: { ...DEFAULTS.rateLimit, secretPerMinute: 20 } } });
  });
  after(() => server.close());

  it('requests spread over several secret routes count against one limit', async () => {
    const paths = [
      '/api/auth/prelogin',
      '/api/auth/login',
      '/api/auth/sign-in/code',
      '/api/auth/sign-in/recovery',
    ];
    const statuses: number[] = [];
    for (let i = 0; i < 24; i++) {
      const { status } = await request(server.url, 'POST', paths[i % paths.length], { json: {} });
      statuses.push(status);
    }
    assert.deepEqual(statuses.slice(0, 20), Array(20).fill(400), 'the first 20 reach the schema');
    assert.deepEqual(statuses.slice(20), Array(4).fill(429), 'each route alone is far below 20');
  });
});

describe('forged and malformed requests', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  it('only the device that started a sign-in can finish it, even with the right code', async () => {
    await createAccount(server, 'bea@example.com', PASSWORD);
    const trusted = (await firstDevice(server, 'bea@example.com', PASSWORD)).state;
    const login = await request(server.url, 'POST', '/api/auth/login', {
      json: {
        email: 'bea@example.com',
        authKey: await authKeyOf(server, 'bea@example.com', PASSWORD),
        device: device('new'),
      },
    });
    assert.equal(login.body.status, 'approval_required');
    const code = await codeFor(trusted, 'new');
    const [id] = login.body.signInToken.split('.');
    const forged = `${id}.${'A'.repeat(43)}`;
    const refused = await request(server.url, 'POST', '/api/auth/sign-in/code', {
      json: { signInToken: forged, code },
    });
    assert.equal(refused.status, 401);
    const accepted = await request(server.url, 'POST', '/api/auth/sign-in/code', {
      json: { signInToken: login.body.signInToken, code },
    });
    assert.equal(accepted.status, 200);
    assert.equal(accepted.body.status, 'signed_in');
  });

  it('answers bad JSON, wrong types, bad IDs, huge bodies, wrong content types and unknown routes with 4xx JSON', async () => {
    await createAccount(server, 'cal@example.com', PASSWORD);
    const { token } = (await firstDevice(server, 'cal@example.com', PASSWORD)).state;
    const cases: [string, string, Parameters<typeof request>[3], number][] = [
      [
        'POST',
        '/api/auth/login',
        { body: '{"email": ', headers: { 'content-type': 'application/json' } },
        400,
      ],
      [
        'POST',
        '/api/auth/login',
        { json: { email: 'cal@example.com', authKey: 42, device: device('x') } },
        400,
      ],
      ['POST', '/api/auth/login', { json: [] }, 400],
      [
        'POST',
        '/api/auth/login',
        { body: 'email=a', headers: { 'content-type': 'application/x-www-form-urlencoded' } },
        415,
      ],
      ['POST', '/api/auth/login', { body: 'hello', headers: { 'content-type': 'text/plain' } }, 415],
      ['POST', '/api/auth/prelogin', { json: { email: 'x'.repeat(2_000_000) } }, 413],
      ['PATCH', '/api/devices/not-an-id', { token, json: { name: 'x' } }, 400],
      ['DELETE', '/api/account/sessions/ZZZZ', { token }, 400],
      ['DELETE', `/api/devices/${'a'.repeat(32)}?deleteBackups=maybe`, { token }, 400],
      ['GET', '/api/devices', { token: 'not a token' }, 401],
      ['GET', '/api/devices', { headers: { authorization: 'Basic abc' } }, 401],
      ['GET', '/api/admin/users', { token }, 403],
      ['GET', '/api/nothing-here', {}, 404],
      ['POST', '/api/device/report', { token, json: { attemptAt: 'yesterday', outcome: 'success' } }, 400],
      [
        'POST',
        '/api/device/report',
        {
          token,
          json: { attemptAt: new Date().toISOString(), outcome: 'success' },
          headers: { 'x-cumulus-agent-version': 'banana' },
        },
        400,
      ],
    ];
    for (const [method, path, options, status] of cases) {
      const response = await request(server.url, method, path, options);
      assert.equal(
        response.status,
        status,
        `${method} ${path} → ${JSON.stringify(response.body).slice(0, 200)}`,
      );
      assert.equal(typeof response.body.error.code, 'string', `${method} ${path} answers a JSON error`);
      assert.equal(typeof response.body.error.message, 'string');
    }
  });

  it('never writes a token, key, password proof or code to the log', async () => {
    await createAccount(server, 'eli@example.com', PASSWORD);
    const first = await firstDevice(server, 'eli@example.com', PASSWORD);
    const second = await approvedDevice(server, first.state, PASSWORD, 'phone');
    await clientOf(second).call(auth.listApprovals, {});
    const authKey = await authKeyOf(server, 'eli@example.com', PASSWORD);
    await request(server.url, 'POST', '/api/auth/login', {
      json: { email: 'eli@example.com', authKey, device: device('y') },
    });
    const code = await codeFor(first.state, 'y');
    const log = server.log.join('');
    assert.ok(log.includes('"path":"/api/auth/login"'), 'requests are logged');
    for (const secret of [
      first.state.token,
      second.token,
      first.state.accountKey,
      authKey,
      first.recoveryKey,
      code,
    ]) {
      assert.ok(!log.includes(secret), 'a secret reached the log');
    }
    assert.ok(!log.includes(first.state.token.split('.')[1]));
  });
});

describe('slow and idle clients', () => {
  let server: TestServer;
  const limits = {
    headersTimeoutMs: 1_000,
    requestTimeoutMs: 60_000,
    anonymousRequestTimeoutMs: 1_000,
    idleTimeoutMs: 2_000,
    maxConnections: 8,
  };
  before(async () => {
    server = await startTestServer({ config: { connections: limits } });
  });
  after(() => server.close());

  const port = () => Number(new URL(server.url).port);

  /** trickle opens a connection, writes `head`, then one more byte each `everyMs`; resolves with how long until the server closed it. */
  function trickle(head: string, everyMs: number): Promise<number> {
    return new Promise((resolve) => {
      const started = Date.now();
      const socket = connect(port(), '127.0.0.1', () => socket.write(head));
      const timer = setInterval(() => socket.write('x'), everyMs);
      socket.on('error', () => {});
      socket.on('close', () => {
        clearInterval(timer);
        resolve(Date.now() - started);
      });
      socket.resume();
    });
  }

  it('cuts an anonymous request whose body trickles in, one byte at a time', async () => {
    const head =
      'POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{';
    const lasted = await trickle(head, 200);
    assert.ok(lasted < 4_000, `closed after ${lasted} ms`);
  });

  it('cuts a client whose headers trickle in', async () => {
    const lasted = await trickle('GET /api/status HTTP/1.1\r\nX-Slow: ', 200);
    assert.ok(lasted < 4_000, `closed after ${lasted} ms`);
  });

  it('closes a connection that stays idle after its request', async () => {
    const lasted = await trickle('GET /api/status HTTP/1.1\r\nHost: x\r\n\r\n', 60_000);
    assert.ok(
      lasted >= limits.idleTimeoutMs - 100 && lasted < limits.idleTimeoutMs + 2_000,
      `closed after ${lasted} ms`,
    );
  });

  it('a signed-in device’s upload may take longer than an anonymous request', async () => {
    await createAccount(server, 'slow@example.com', PASSWORD);
    const { token } = (await firstDevice(server, 'slow@example.com', PASSWORD)).state;
    const started = Date.now();
    const answer = await new Promise<string>((resolve) => {
      const socket = connect(port(), '127.0.0.1', () =>
        socket.write(
          `POST /api/device/upload-test HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/octet-stream\r\nContent-Length: 10\r\nConnection: close\r\n\r\n`,
        ),
      );
      let sent = 0;
      const timer = setInterval(() => {
        socket.write('x');
        if (++sent === 10) clearInterval(timer);
      }, 200);
      let seen = '';
      socket.on('data', (chunk) => (seen += chunk));
      socket.on('close', () => resolve(seen));
    });
    assert.ok(Date.now() - started > limits.anonymousRequestTimeoutMs, 'it outlasted the anonymous deadline');
    assert.match(answer, /^HTTP\/1.1 200/);
    assert.match(answer, /"bytes":10/);
  });

  it('refuses connections beyond the cap', async () => {
    const open = await Promise.all(
      Array.from(
        { length: limits.maxConnections },
        () =>
          new Promise<Socket>((resolve) => {
            const socket = connect(port(), '127.0.0.1', () => resolve(socket));
          }),
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    const refused = await request(server.url, 'GET', '/api/status').then(
      () => false,
      () => true,
    );
    for (const socket of open) socket.destroy();
    assert.ok(refused, 'the connection beyond the cap was dropped');
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal((await request(server.url, 'GET', '/api/status')).status, 200, 'served again once below it');
  });

  it('the defaults: 20 s for headers, 30 s for an anonymous request, 10 min for any request, 1000 connections', async () => {
    const { connections } = parseServerConfig({}, {});
    assert.deepEqual(connections, {
      headersTimeoutMs: 20_000,
      requestTimeoutMs: 600_000,
      anonymousRequestTimeoutMs: 30_000,
      idleTimeoutMs: 120_000,
      maxConnections: 1000,
    });
    assert.equal(server.app.server.headersTimeout, limits.headersTimeoutMs);
    assert.equal(server.app.server.requestTimeout, limits.requestTimeoutMs);
    assert.equal(server.app.server.maxConnections, limits.maxConnections);
  });
});

describe('terminal escapes in what devices name themselves', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  const HIDING = ['\u001b[1A\u001b[2Klaptop', 'phone\r', 'x\u0007', 'tab\u009b', '\u202egnp.exe'];

  it('refuses control characters and bidirectional overrides in a device name or platform', async () => {
    await createAccount(server, 'esc@example.com', PASSWORD);
    const { token, deviceId } = (await firstDevice(server, 'esc@example.com', PASSWORD)).state;
    const authKey = await authKeyOf(server, 'esc@example.com', PASSWORD);
    for (const bad of HIDING) {
      for (const info of [
        { ...device('ok'), name: bad },
        { ...device('ok'), platform: bad },
      ]) {
        const login = await request(server.url, 'POST', '/api/auth/login', {
          json: { email: 'esc@example.com', authKey, device: info },
        });
        assert.equal(login.status, 400, JSON.stringify(info));
      }
      const rename = await request(server.url, 'PATCH', `/api/devices/${deviceId}`, {
        token,
        json: { name: bad },
      });
      assert.equal(rename.status, 400, JSON.stringify(bad));
    }
    const fine = await request(server.url, 'PATCH', `/api/devices/${deviceId}`, {
      token,
      json: { name: 'Zoë’s 📱 phone' },
    });
    assert.equal(fine.status, 200, 'other characters are fine');
  });

  it('`cumulus approve` and `cumulus devices` print what the server sends escaped', async () => {
    await createAccount(server, 'old@example.com', PASSWORD);
    const trusted = (await firstDevice(server, 'old@example.com', PASSWORD)).state;
    await pendingSignIn(server, 'old@example.com', PASSWORD, 'intruder');
    // As rows stored before names were checked, or as a hostile server would answer.
    await server.services.db.run(
      "UPDATE sign_ins SET device_name = ?, platform = ? WHERE device_name = 'intruder'",
      ['\u001b[1A\u001b[2Kintruder', '\u202elinux'],
    );
    await server.services.db.run('UPDATE devices SET name = ? WHERE id = ?', [
      '\u001b]0;owned\u0007laptop',
      trusted.deviceId,
    ]);
    const config = await mkdtemp(join(tmpdir(), 'cumulus-escape-'));
    try {
      await saveDeviceState(trusted, config);
      for (const args of [['approve'], ['devices', 'list']]) {
        const run = await runCumulus(args, { CUMULUS_CONFIG_DIR: config });
        assert.equal(run.code, 0, run.stderr);
        assert.doesNotMatch(
          run.stdout,
          /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/,
          `${args.join(' ')} prints no control character`,
        );
        assert.match(run.stdout, /\\u\{1b\}/, `${args.join(' ')} shows the escape for what it is`);
      }
    } finally {
      await rm(config, { recursive: true, force: true });
    }
  });
});

describe('the agent-version header', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  it('is refused unless it is a bounded version, so no script is stored and listed to other devices', async () => {
    await createAccount(server, 'ver@example.com', PASSWORD);
    const { token } = (await firstDevice(server, 'ver@example.com', PASSWORD)).state;
    for (const bad of [
      `9.9.9<script>${'x'.repeat(300)}</script>`,
      '1.2',
      `1.2.3-${'a'.repeat(65)}`,
      '1'.repeat(10) + '.0.0',
    ]) {
      const listed = await request(server.url, 'GET', '/api/devices', {
        token,
        headers: { 'x-cumulus-agent-version': bad },
      });
      assert.equal(listed.status, 400, bad.slice(0, 20));
      assert.equal(listed.body.error.code, 'invalid_input');
    }
    const { body } = await request(server.url, 'GET', '/api/devices', {
      token,
      headers: { 'x-cumulus-agent-version': '2.0.0-rc.1' },
    });
    assert.deepEqual(
      body.devices.map((d: Json) => d.agentVersion),
      ['2.0.0-rc.1'],
      'a version is stored; nothing else was',
    );
  });
});
