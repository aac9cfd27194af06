/**
 * Credentials: random IDs, bearer tokens kept only as hashes and compared in constant
 * time, one-time codes, and the memory-hard hash of auth keys.
 */
import { createHash, randomBytes, randomInt, scrypt, timingSafeEqual } from 'node:crypto';

/** newId returns 16 random bytes as 32 hex characters: the IDs of accounts, devices, sessions… */
export function newId(): string {
  return randomBytes(16).toString('hex');
}

/** newCode returns a uniformly random 6-digit code. */
export function newCode(): string {
  return String(randomInt(0, 1_000_000)).padStart(6, '0');
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * newToken makes a bearer token `<id>.<secret>` with 32 random bytes of secret. The server
 * stores `secretHash` only, so a copy of the database cannot be replayed as a token.
 */
export function newToken(id: string): { token: string; secretHash: string } {
  const secret = randomBytes(32).toString('base64url');
  return { token: `${id}.${secret}`, secretHash: sha256(secret) };
}

/** parseToken splits a token into its row ID and secret, or returns undefined if malformed. */
export function parseToken(token: string): { id: string; secret: string } | undefined {
  const match = /^([0-9a-f]{32})\.([A-Za-z0-9_-]{43})$/.exec(token);
  return match ? { id: match[1], secret: match[2] } : undefined;
}

/** secretMatches compares a presented secret with a stored hash in constant time. */
export function secretMatches(secret: string, secretHash: string): boolean {
  const presented = Buffer.from(sha256(secret), 'hex');
  const stored = Buffer.from(secretHash, 'hex');
  return presented.length === stored.length && timingSafeEqual(presented, stored);
}

/** AuthHashCost is the scrypt cost of the server-side hash of auth keys. */
export interface AuthHashCost {
  N: number;
  r: number;
  p: number;
}

/**
 * DEFAULT_AUTH_HASH_COST: 16 MiB and tens of milliseconds per sign-in. The auth key is
 * already stretched by the client; this makes each guess against a stolen database pay a
 * second memory-hard price.
 */
export const DEFAULT_AUTH_HASH_COST: AuthHashCost = Object.freeze({ N: 2 ** 14, r: 8, p: 1 });

function scryptAsync(secret: Buffer, salt: Buffer, cost: AuthHashCost): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const maxmem = 256 * cost.N * cost.r * cost.p + (1 << 20);
    scrypt(secret, salt, 32, { ...cost, maxmem }, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

/** hashSecret hashes a client-derived key for storage: `scrypt$N$r$p$salt$hash`. */
export async function hashSecret(key: string, cost: AuthHashCost): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scryptAsync(Buffer.from(key, 'utf8'), salt, cost);
  return ['scrypt', cost.N, cost.r, cost.p, salt.toString('base64'), hash.toString('base64')].join('$');
}

/** verifySecret checks a key against a stored hash in constant time. */
export async function verifySecret(key: string, stored: string): Promise<boolean> {
  const [name, N, r, p, salt, hash] = stored.split('$');
  if (name !== 'scrypt') throw new Error('unknown secret hash format');
  const expected = Buffer.from(hash, 'base64');
  const actual = await scryptAsync(Buffer.from(key, 'utf8'), Buffer.from(salt, 'base64'), {
    N: Number(N),
    r: Number(r),
    p: Number(p),
  });
  return timingSafeEqual(actual, expected);
}
