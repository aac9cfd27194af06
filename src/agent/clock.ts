/**
 * Clocks for the scheduler: systemClock is the machine's; FakeClock is driven by tests
 * and demos, where `advance` runs timers in order and `jump` moves wall time alone, the way
 * a suspended machine wakes up.
 */
import type { Clock } from './ports.ts';

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal?.reason);
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

interface Timer {
  at: number;
  seq: number;
  resolve: () => void;
}

/** FakeClock is a Clock whose time moves only when told to. */
export class FakeClock implements Clock {
  #now: number;
  #timers: Timer[] = [];
  #seq = 0;

  constructor(start: number) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const timer: Timer = { at: this.#now + ms, seq: this.#seq++, resolve: () => {} };
      const onAbort = () => {
        this.#timers = this.#timers.filter((t) => t !== timer);
        reject(signal?.reason);
      };
      timer.resolve = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#timers.push(timer);
    });
  }

  /** waitForTimers waits (in real time, up to `ms`) until `count` sleeps are pending. */
  async waitForTimers(count: number, ms = 5_000): Promise<void> {
    const end = Date.now() + ms;
    while (this.#timers.length !== count) {
      if (Date.now() > end) throw new Error(`expected ${count} pending sleeps, found ${this.#timers.length}`);
      await new Promise<void>((resolve) => setTimeout(resolve, 1));
    }
  }

  /**
   * advance moves time forward by `ms`, firing every timer due on the way in order and
   * letting the code each one wakes run (and schedule new timers) before the next.
   */
  async advance(ms: number): Promise<void> {
    const end = this.#now + ms;
    await settle();
    for (;;) {
      const next = this.#timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!next) break;
      this.#timers = this.#timers.filter((t) => t !== next);
      this.#now = Math.max(this.#now, next.at);
      next.resolve();
      await settle();
    }
    this.#now = end;
    await settle();
  }

  /**
   * jump moves wall time forward without firing timers, as after a suspend: pending
   * sleeps keep their remaining duration.
   */
  jump(ms: number): void {
    this.#now += ms;
    for (const timer of this.#timers) timer.at += ms;
  }
}

/**
 * settle lets the code the timers woke run to its next sleep, including the file I/O it
 * awaits: it returns once no file operation has been in flight for a few turns of the
 * event loop (or after five seconds), so fake time never moves while real work is pending.
 */
async function settle(): Promise<void> {
  const end = Date.now() + 5_000;
  let quiet = 0;
  while (quiet < 5 && Date.now() < end) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    const busy = process.getActiveResourcesInfo().some((r) => r.startsWith('FSReq') || r === 'CloseReq');
    quiet = busy ? 0 : quiet + 1;
  }
}
