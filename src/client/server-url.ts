/**
 * plainHttpWarning says why a server address is unsafe, or undefined: plain HTTP beyond
 * this machine sends the auth key and session tokens where the network can read them.
 */
import { isIP } from 'node:net';

function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '');
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

export function plainHttpWarning(serverUrl: string): string | undefined {
  const url = new URL(serverUrl);
  if (url.protocol !== 'http:' || isLoopback(url.hostname)) return undefined;
  return `warning: ${url.host} is reached over plain HTTP: anyone on the network can read the password proof and the session token (backups stay encrypted). Use https:// (the server's --tls-cert, or a TLS reverse proxy).`;
}
