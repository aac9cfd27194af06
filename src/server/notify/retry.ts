/**
 * withRetries runs an outbound call, and again after each delay while it fails with an
 * error worth retrying: bounded, so a dead relay or hook costs a known, short time.
 */
import { setTimeout as sleep } from 'node:timers/promises';

/** DeliveryError is a failed delivery with a code safe to store and show (never a URL or a server's reply). */
export class DeliveryError extends Error {
  readonly code: string;
  /** False for answers that will not change on a retry (a 4xx, an address refused). */
  readonly retryable: boolean;

  constructor(code: string, retryable: boolean, options: { cause?: unknown } = {}) {
    super(`delivery failed: ${code}`, options);
    this.name = 'DeliveryError';
    this.code = code;
    this.retryable = retryable;
  }
}

export async function withRetries<T>(attempt: () => Promise<T>, delaysMs: readonly number[]): Promise<T> {
  for (let tried = 0; ; tried++) {
    try {
      return await attempt();
    } catch (error) {
      const retryable = !(error instanceof DeliveryError) || error.retryable;
      if (!retryable || tried >= delaysMs.length) throw error;
      await sleep(delaysMs[tried]);
    }
  }
}
