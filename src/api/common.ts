/** Schemas shared by every part of the HTTP API. */
import { type Static, Type } from 'typebox';

/** AGENT_VERSION_HEADER carries the version of the agent or CLI making a request. */
export const AGENT_VERSION_HEADER = 'x-cumulus-agent-version';

/** Id names accounts, devices, sessions, sign-ins and incidents: 16 random bytes as 32 lowercase hex characters. */
export const Id = Type.String({ pattern: '^[0-9a-f]{32}$', description: '32 lowercase hex characters' });

export const Email = Type.String({ format: 'email', minLength: 3, maxLength: 254 });

/** Key32 is 32 bytes of key material in base64 (an auth key: a proof, never a key that opens anything). */
export const Key32 = Type.String({ pattern: '^[A-Za-z0-9+/]{43}=$', description: '32 bytes, base64' });

/** WrappedKey is the account key sealed with AES-256-GCM: nonce(12) ‖ ciphertext(32) ‖ tag(16), base64. */
export const WrappedKey = Type.String({ pattern: '^[A-Za-z0-9+/]{80}$', description: '60 bytes, base64' });

/** Timestamp is an ISO 8601 date and time in UTC. */
export const Timestamp = Type.String({ format: 'date-time' });
export const OptionalTimestamp = Type.Union([Timestamp, Type.Null()]);

/** Version is an agent version: MAJOR.MINOR.PATCH with an optional pre-release suffix. */
export const Version = Type.String({ pattern: '^\\d{1,9}\\.\\d{1,9}\\.\\d{1,9}(-[0-9A-Za-z.-]{1,64})?$' });

/**
 * LABEL_PATTERN refuses control characters (C0, DEL, C1) and the bidirectional overrides:
 * printed on a terminal they could move the cursor, clear lines or reorder text, and so
 * hide a pending sign-in from the person approving it.
 */
const LABEL_PATTERN = '^[^\\u0000-\\u001f\\u007f-\\u009f\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069]*$';

/** Label is short text a device or a person chose, printable as it is. */
export function Label(maxLength: number) {
  return Type.String({ minLength: 1, maxLength, pattern: LABEL_PATTERN });
}

/**
 * Count is a non-negative whole number a client reports (bytes, files, a cursor): bounded
 * to what a double holds exactly, so 1e300 is refused rather than stored and printed.
 */
export const Count = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });

/** Name is a short label a person chose (a device name, a plan name). */
export const Name = Label(100);

/** ErrorBody is every error response: a stable code, a plain message and the next step. */
export const ErrorBody = Type.Object({
  error: Type.Object({
    code: Type.String(),
    message: Type.String(),
    hint: Type.Optional(Type.String()),
    details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  }),
});
export type ErrorBody = Static<typeof ErrorBody>;

export const Ok = Type.Object({ ok: Type.Literal(true) });

/** KdfParams say how a client stretches the password: scrypt with this cost and the account's salt. */
export const KdfParams = Type.Object({
  name: Type.Literal('scrypt'),
  N: Type.Integer({ minimum: 2, maximum: 2 ** 24 }),
  r: Type.Integer({ minimum: 1, maximum: 64 }),
  p: Type.Integer({ minimum: 1, maximum: 64 }),
  salt: Key32,
});
export type KdfParams = Static<typeof KdfParams>;

/**
 * KDF_FLOOR_N is the least scrypt cost a client accepts from a server (below it, the
 * server's own offline guessing would be cheap): 2^16, the default when older accounts
 * were made. The CLI and the browser enforce it the same way; only the CLI's tests lower it
 * (CUMULUS_KDF_COST), and the browser has no way to.
 */
export const KDF_FLOOR_N = 2 ** 16;

/** KDF_LEAST_N is below any floor: the least cost even a test may use. */
const KDF_LEAST_N = 2 ** 10;

/** A server could ask for any cost; a client refuses more memory than this (1 GiB). */
const KDF_MAX_MEMORY = 1024 ** 3;

/** kdfMemory is the memory scrypt needs for these parameters, in bytes. */
export function kdfMemory(kdf: Pick<KdfParams, 'N' | 'r' | 'p'>): number {
  return 128 * kdf.N * kdf.r * kdf.p;
}

/** kdfAcceptable says whether a client should stretch a password with a server's parameters. */
export function kdfAcceptable(kdf: Pick<KdfParams, 'N' | 'r' | 'p'>, floorN: number = KDF_FLOOR_N): boolean {
  return kdf.N >= Math.max(KDF_LEAST_N, floorN) && kdfMemory(kdf) <= KDF_MAX_MEMORY;
}

/** RepositoryConfig is the account repository's plaintext config (docs/format.md, "Layout"). */
export const RepositoryConfig = Type.Object({
  version: Type.Literal(1),
  id: Type.String({ pattern: '^[0-9a-f]{64}$' }),
  chunker: Type.Object({
    min: Type.Integer({ minimum: 1 }),
    avg: Type.Integer({ minimum: 1 }),
    max: Type.Integer({ minimum: 1 }),
  }),
  created: Timestamp,
});
export type RepositoryConfig = Static<typeof RepositoryConfig>;
