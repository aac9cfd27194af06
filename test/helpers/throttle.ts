/**
 * throttlingProxy is a TCP proxy on loopback that forwards what a client sends at most
 * `bytesPerSecond` per connection (answers flow back unthrottled), so a test can watch a
 * backup of a few tens of MB while it runs instead of racing one that ends in a second.
 */
import { connect, createServer, type Socket } from 'node:net';
import { Transform } from 'node:stream';

export interface ThrottlingProxy {
  url: string;
  close(): Promise<void>;
}

function throttled(bytesPerSecond: number): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      setTimeout(() => done(null, chunk), (chunk.length / bytesPerSecond) * 1000);
    },
  });
}

export async function throttlingProxy(target: string, bytesPerSecond: number): Promise<ThrottlingProxy> {
  const { hostname, port } = new URL(target);
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(Number(port), hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(throttled(bytesPerSecond)).pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the proxy has no port');
  return {
    url: `http://127.0.0.1:${address.port}`,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
