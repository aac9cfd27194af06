/**
 * AddressGuard decides which addresses a webhook may reach. By default none that is
 * private: loopback, the private ranges, link-local (a cloud's metadata service), CGNAT,
 * unique-local, multicast and unspecified addresses are refused, so an account cannot
 * make the server call into the network it sits in (SSRF). The admin names the hosts
 * that are the exception (a Gotify or ntfy on the LAN): by host name as written in the
 * URL, or by address.
 */
import { BlockList, isIP } from 'node:net';

// Two lists: one BlockList would also match every IPv4 address against the IPv4-mapped IPv6 range.
const PRIVATE_V4 = new BlockList();
const PRIVATE_V6 = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  PRIVATE_V4.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 127],
  // IPv4-mapped and NAT64 addresses reach IPv4 hosts: never a webhook's own address.
  ['::ffff:0:0', 96],
  ['64:ff9b::', 96],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  PRIVATE_V6.addSubnet(network, prefix, 'ipv6');
}

/** isPrivateAddress says whether an IP address is one a webhook may not reach by default. */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  return family === 4 ? PRIVATE_V4.check(address, 'ipv4') : PRIVATE_V6.check(address, 'ipv6');
}

/** bareHost is a URL's host name without the brackets of an IPv6 literal, lowercased. */
export function bareHost(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
}

export class AddressGuard {
  readonly #allowed: Set<string>;

  /** allowedPrivate: host names or addresses that may be private (the admin's exceptions). */
  constructor(allowedPrivate: readonly string[] = []) {
    this.#allowed = new Set(allowedPrivate.map((entry) => entry.trim().toLowerCase()).filter(Boolean));
  }

  /** mayReach says whether a webhook to `host` may connect to `address` (the address the host resolved to). */
  mayReach(host: string, address: string): boolean {
    return !isPrivateAddress(address) || this.#allowed.has(host) || this.#allowed.has(address.toLowerCase());
  }

  /**
   * refusesUpFront is true for a URL the guard can refuse without resolving it: an IP
   * literal that is private, or `localhost`. A name is checked when it is resolved, at
   * every connection (so a name that later points inward is refused then).
   */
  refusesUpFront(url: URL): boolean {
    const host = bareHost(url);
    if (this.#allowed.has(host)) return false;
    if (host === 'localhost' || host.endsWith('.localhost')) return true;
    return isIP(host) !== 0 && !this.mayReach(host, host);
  }
}
