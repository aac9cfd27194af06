/**
 * Checks shared by the decoders of JSON blobs and files (trees, snapshots, key files):
 * each returns whether a decoded JSON value has the shape the format requires.
 */

const HEX_ID = /^[0-9a-f]{64}$/;

/** isRecord tells a plain JSON object from arrays, null and scalars. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** hasFields is true when `record` has every required key, and no key outside required ∪ optional. */
export function hasFields(
  record: Record<string, unknown>,
  required: readonly string[],
  optional: readonly string[] = [],
): boolean {
  for (const key of required) if (!Object.hasOwn(record, key)) return false;
  for (const key of Object.keys(record)) if (!required.includes(key) && !optional.includes(key)) return false;
  return true;
}

/** isBlobId is true for a 32-byte ID written as 64 lowercase hex characters. */
export function isBlobId(value: unknown): value is string {
  return typeof value === 'string' && HEX_ID.test(value);
}

/** isLowerHex is true for `bytes` bytes written as lowercase hex. */
export function isLowerHex(value: unknown, bytes: number): value is string {
  return typeof value === 'string' && value.length === bytes * 2 && /^[0-9a-f]*$/.test(value);
}

/** isText is true for a string that is well-formed Unicode (no lone surrogate) and holds no NUL. */
export function isText(value: unknown): value is string {
  return typeof value === 'string' && value.isWellFormed() && !value.includes('\0');
}

/** isCount is true for a whole number from 0 to 2^53 − 1. */
export function isCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

/** isTimestamp is true for an ISO 8601 date-time string that Date can read. */
export function isTimestamp(value: unknown): value is string {
  return typeof value === 'string' && /^\d{4}-\d\d-\d\dT/.test(value) && !Number.isNaN(Date.parse(value));
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** parseJsonBytes decodes strict UTF-8 JSON, or returns undefined when the bytes are not that. */
export function parseJsonBytes(bytes: Uint8Array): { value: unknown } | undefined {
  try {
    return { value: JSON.parse(UTF8.decode(bytes)) };
  } catch {
    return undefined;
  }
}
