/**
 * RequestCounts counts requests per key in fixed windows in the server database, so the
 * replicas sharing one database spend one budget per session or address. A hit is one
 * statement: an upsert that starts a new window once the last one has run out and returns
 * the count and the window's end. Rows whose window ended are swept at most once a minute
 * per process, by the hit that comes then, without waiting for it.
 *
 * When the database fails, or does not answer within a deadline, this process counts in
 * its own memory for a few seconds before it tries the database again: the limits then
 * hold per replica (behind N replicas up to N times the budget) instead of letting every
 * request through or refusing every one.
 */
import { type Clock, systemClock } from '../clock.ts';
import type { Database } from '../db/database.ts';

/** RequestCount is a key's count in its window and how long that window has left. */
export interface RequestCount {
  hits: number;
  ttlMs: number;
}

export interface RequestCountsOptions {
  /** Request rates are real time by default: the server's Clock is one tests stop. */
  clock?: Clock;
  /** How long a hit waits for the database before it is counted in memory. */
  deadlineMs?: number;
  /** How long after a failure hits are counted in memory before the database is tried again. */
  retryAfterMs?: number;
  /** Called once when counting moves to memory, and once when it is back in the database. */
  onOutage?: (error: unknown) => void;
  onRecovery?: () => void;
}

const HIT = `INSERT INTO request_counts (key, hits, reset_at) VALUES (?, 1, ?)
  ON CONFLICT (key) DO UPDATE SET
    hits = CASE WHEN request_counts.reset_at <= ? THEN 1 ELSE request_counts.hits + 1 END,
    reset_at = CASE WHEN request_counts.reset_at <= ? THEN excluded.reset_at ELSE request_counts.reset_at END
  RETURNING hits, reset_at`;
const SWEEP_EVERY_MS = 60_000;
/** Keys counted in memory at most during an outage; the oldest go first. */
const LOCAL_KEYS = 10_000;

function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the database did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

export class RequestCounts {
  readonly #db: Database;
  readonly #clock: Clock;
  readonly #deadlineMs: number;
  readonly #retryAfterMs: number;
  readonly #onOutage: (error: unknown) => void;
  readonly #onRecovery: () => void;
  /** Counts kept here while the database is out: a key's hits and when its window ends. */
  readonly #local = new Map<string, { hits: number; resetAt: number }>();
  #retryAt = 0;
  #outage = false;
  #sweptAt = 0;

  constructor(db: Database, options: RequestCountsOptions = {}) {
    this.#db = db;
    this.#clock = options.clock ?? systemClock;
    this.#deadlineMs = options.deadlineMs ?? 2000;
    this.#retryAfterMs = options.retryAfterMs ?? 5000;
    this.#onOutage = options.onOutage ?? (() => {});
    this.#onRecovery = options.onRecovery ?? (() => {});
  }

  /** hit counts one request of `key` in a window of `windowMs` and returns the count so far. */
  async hit(key: string, windowMs: number): Promise<RequestCount> {
    const now = this.#clock.now();
    if (now >= this.#retryAt) {
      try {
        const row = await withDeadline(
          this.#db.get<{ hits: number; reset_at: number }>(HIT, [key, now + windowMs, now, now]),
          this.#deadlineMs,
        );
        this.#recovered();
        this.#sweep(now);
        return { hits: Number(row!.hits), ttlMs: Math.max(0, Number(row!.reset_at) - now) };
      } catch (error) {
        this.#failed(now, error);
      }
    }
    return this.#countLocally(key, now, windowMs);
  }

  #sweep(now: number): void {
    if (now - this.#sweptAt < SWEEP_EVERY_MS) return;
    this.#sweptAt = now;
    // A failed sweep is retried a minute later; the rows it left only take space.
    void this.#db.run('DELETE FROM request_counts WHERE reset_at <= ?', [now]).catch(() => {});
  }

  #failed(now: number, error: unknown): void {
    this.#retryAt = now + this.#retryAfterMs;
    if (this.#outage) return;
    this.#outage = true;
    this.#onOutage(error);
  }

  #recovered(): void {
    if (!this.#outage) return;
    this.#outage = false;
    this.#local.clear();
    this.#onRecovery();
  }

  #countLocally(key: string, now: number, windowMs: number): RequestCount {
    let count = this.#local.get(key);
    if (count === undefined || count.resetAt <= now) {
      if (this.#local.size >= LOCAL_KEYS) this.#forgetLocal(now);
      count = { hits: 0, resetAt: now + windowMs };
      this.#local.set(key, count);
    }
    count.hits += 1;
    return { hits: count.hits, ttlMs: count.resetAt - now };
  }

  #forgetLocal(now: number): void {
    for (const [key, count] of this.#local) if (count.resetAt <= now) this.#local.delete(key);
    const oldest = this.#local.keys().next();
    if (this.#local.size >= LOCAL_KEYS && !oldest.done) this.#local.delete(oldest.value);
  }
}
