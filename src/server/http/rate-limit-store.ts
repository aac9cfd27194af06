/**
 * countedStore is the @fastify/rate-limit store over RequestCounts, so the request limits
 * are counted in the server database and every replica spends the same budget. Each limit
 * counts under a scope of its own: the global limit under '*', a route's own limit under
 * its method and URL, a limit made with `app.rateLimit` (which has no route) under its
 * groupId.
 */
import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { RequestCounts } from '../services/request-counts.ts';

type Done = Parameters<FastifyRateLimitStore['incr']>[1];

/** What @fastify/rate-limit passes to child(): the limit's merged options and the route it guards. */
interface ChildOptions {
  groupId?: string;
  routeInfo?: { method?: string | string[]; url?: string };
}

class CountedStore implements FastifyRateLimitStore {
  readonly #counts: RequestCounts;
  readonly #scope: string;

  constructor(counts: RequestCounts, scope: string) {
    this.#counts = counts;
    this.#scope = scope;
  }

  incr(key: string, done: Done, timeWindow: number): void {
    this.#counts.hit(`${this.#scope} ${key}`, timeWindow).then(
      (count) => done(null, { current: count.hits, ttl: count.ttlMs }),
      (error: Error) => done(error),
    );
  }

  child(options: unknown): FastifyRateLimitStore {
    const { groupId, routeInfo } = options as ChildOptions;
    const scope =
      groupId ?? (routeInfo?.url === undefined ? undefined : `${routeInfo.method} ${routeInfo.url}`);
    if (scope === undefined)
      throw new Error('a rate limit that guards no route needs a groupId to count under');
    return new CountedStore(this.#counts, scope);
  }
}

export function countedStore(counts: RequestCounts): FastifyRateLimitStoreCtor {
  return class extends CountedStore {
    constructor() {
      super(counts, '*');
    }
  };
}
