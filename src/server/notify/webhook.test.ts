import assert from 'node:assert/strict';
import { lookup } from 'node:dns/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { AddressGuard, isPrivateAddress } from './address-guard.ts';
import { DeliveryError, withRetries } from './retry.ts';
import { postJson } from './webhook.ts';

describe('the address guard', () => {
  it('calls loopback, private, link-local, CGNAT, unique-local, mapped and multicast addresses private', () => {
    for (const address of [
      '127.0.0.1',
      '10.1.2.3',
      '172.20.0.1',
      '192.168.1.10',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '224.0.0.1',
      '::1',
      '::',
      'fd00::1',
      'fe80::1',
      '::ffff:127.0.0.1',
      '64:ff9b::7f00:1',
    ])
      assert.ok(isPrivateAddress(address), address);
    for (const address of ['1.1.1.1', '93.184.216.34', '2606:4700:4700::1111', '172.32.0.1'])
      assert.ok(!isPrivateAddress(address), address);
  });

  it("refuses private literals and localhost up front, except the admin's hosts", () => {
    const guard = new AddressGuard();
    assert.ok(guard.refusesUpFront(new URL('http://127.0.0.1:8080/hook')));
    assert.ok(guard.refusesUpFront(new URL('http://[::1]/hook')));
    assert.ok(guard.refusesUpFront(new URL('http://localhost/hook')));
    assert.ok(
      !guard.refusesUpFront(new URL('https://ntfy.sh/topic')),
      'a name is checked when it is resolved',
    );
    const lan = new AddressGuard(['gotify.lan', '192.168.1.5']);
    assert.ok(!lan.refusesUpFront(new URL('http://192.168.1.5/message')));
    assert.ok(lan.refusesUpFront(new URL('http://192.168.1.6/message')));
    assert.ok(lan.mayReach('gotify.lan', '192.168.1.7'));
    assert.ok(!lan.mayReach('other.lan', '192.168.1.7'));
  });
});

describe('postJson', () => {
  let url: string;
  let received: unknown[] = [];
  let answer = 200;
  let hang = false;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push(JSON.parse(Buffer.concat(chunks).toString()));
      if (!hang) response.writeHead(answer).end();
    });
  });
  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });
  const allowed = new AddressGuard(['127.0.0.1']);

  it('posts the JSON and resolves on a 2xx', async () => {
    received = [];
    await postJson(new URL(`${url}/hook`), { hello: 1 }, { guard: allowed, timeoutMs: 5_000 });
    assert.deepEqual(received, [{ hello: 1 }]);
  });

  it('refuses a name that resolves to a private address when it connects, sending nothing', async (t) => {
    // The machine's own name resolves to a loopback or private address almost everywhere
    // (/etc/hosts, a container's address); only the lookup at connection time can refuse it.
    const name = hostname();
    const address = await lookup(name).catch(() => undefined);
    if (!address || !isPrivateAddress(address.address))
      return t.skip(`${name} does not resolve to a private address`);
    received = [];
    const port = new URL(url).port;
    await assert.rejects(
      postJson(new URL(`http://${name}:${port}/hook`), {}, { guard: new AddressGuard(), timeoutMs: 5_000 }),
      (error: unknown) =>
        error instanceof DeliveryError && error.code === 'private_address' && !error.retryable,
    );
    assert.deepEqual(received, []);
  });

  it('names a failure by its status or a timeout, and retries only what may change', async () => {
    answer = 404;
    await assert.rejects(
      postJson(new URL(url), {}, { guard: allowed, timeoutMs: 5_000 }),
      (error: unknown) => error instanceof DeliveryError && error.code === 'http_404' && !error.retryable,
    );
    answer = 502;
    received = [];
    await assert.rejects(
      withRetries(() => postJson(new URL(url), {}, { guard: allowed, timeoutMs: 5_000 }), [1, 1]),
      (error: unknown) => error instanceof DeliveryError && error.code === 'http_502',
    );
    assert.equal(received.length, 3, 'a 502 is tried again, twice');
    hang = true;
    await assert.rejects(
      postJson(new URL(url), {}, { guard: allowed, timeoutMs: 200 }),
      (error: unknown) => error instanceof DeliveryError && error.code === 'timeout',
    );
    hang = false;
  });
});
