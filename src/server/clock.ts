/** Clock is the server's only source of time, so tests can move it (code expiry, delays). */
export interface Clock {
  /** now returns milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** iso turns stored milliseconds into the API's timestamps; null stays null. */
export function iso(ms: number): string;
export function iso(ms: number | null): string | null;
export function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}
