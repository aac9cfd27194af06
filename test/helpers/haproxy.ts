/**
 * HAProxy from Debian in front of server replicas, as docs/deploy.md lays it out: round
 * robin, each replica taken out while `/api/health/ready` fails, a request that could not
 * reach a replica sent to another.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';

export const HAPROXY = '/usr/sbin/haproxy';

export function haproxyMissing(): string | false {
  return spawnSync(HAPROXY, ['-v']).status === 0 ? false : `no ${HAPROXY} (apt-get install haproxy)`;
}

/** freePort asks the kernel for a loopback port nobody listens on. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** haproxyConfig is the load balancer of docs/deploy.md for replicas on these loopback ports. */
export function haproxyConfig(port: number, backends: readonly number[]): string {
  return `global
  maxconn 4096

defaults
  mode http
  timeout connect 2s
  timeout client 11m
  timeout server 11m
  timeout http-request 30s
  # A replica busy with uploads may answer its check late; only a refused connection or
  # repeated failures take it out, never one slow answer.
  timeout check 5s
  option redispatch
  retries 3
  retry-on conn-failure empty-response response-timeout 503

frontend cumulus
  bind 127.0.0.1:${port}
  default_backend replicas

backend replicas
  balance roundrobin
  option httpchk GET /api/health/ready
  http-check expect status 200
  default-server inter 1s fall 3 rise 2
${backends.map((b, i) => `  server replica${i + 1} 127.0.0.1:${b} check`).join('\n')}
  # When every check fails at once (replicas too busy to answer, not down), send anyway:
  # a client retries what a dead replica refuses, a balancer with no server refuses all.
  option allbackups
${backends.map((b, i) => `  server any${i + 1} 127.0.0.1:${b} backup`).join('\n')}
`;
}

export interface Haproxy {
  url: string;
  child: ChildProcess;
  /** What HAProxy printed: servers going down and up, with the reason. */
  output(): string;
  stop(): Promise<void>;
}

/** startHaproxy runs HAProxy in the foreground with a config written to `dir`. */
export async function startHaproxy(dir: string, backends: readonly number[]): Promise<Haproxy> {
  const port = await freePort();
  const config = join(dir, 'haproxy.cfg');
  await writeFile(config, haproxyConfig(port, backends));
  const child = spawn(HAPROXY, ['-db', '-f', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`haproxy exited: ${output}`);
    try {
      if ((await fetch(`${url}/api/health/live`)).ok) break;
    } catch {}
    if (Date.now() > deadline) throw new Error(`haproxy did not answer: ${output}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    child,
    output: () => output,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.on('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
