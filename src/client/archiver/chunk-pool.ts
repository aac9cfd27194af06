/**
 * ChunkPool runs chunk workers (one per core by default) and hands them files. It answers
 * their "which of these chunks are new?" questions through a ChunkSink and passes the
 * sealed blobs back to it, in the order each worker sent them.
 */
import { Worker } from 'node:worker_threads';
import type { FileResult, FromWorker, SealedBatch, WorkerInit } from './worker-protocol.ts';

export interface ChunkSink {
  /** need says which chunk IDs to seal and send; it claims them, and may wait (backpressure). */
  need(ids: string[]): Promise<boolean[]>;
  /** accept takes a batch of sealed chunks (its memory is the sink's); it may wait while packs are uploaded. */
  accept(batch: SealedBatch): Promise<void>;
}

interface Job {
  paths: string[];
  large: boolean;
  /** The chunk IDs of a large file, as its worker sends them. */
  chunks: string[];
  resolve: (files: FileResult[]) => void;
  reject: (error: Error) => void;
}

interface Slot {
  worker: Worker;
  job: Job | undefined;
  /** Messages of one worker are handled strictly in order. */
  chain: Promise<void>;
}

const WORKER_URL = new URL('./chunk-worker.ts', import.meta.url);

/**
 * WORKER_HEAP_MB caps each worker's V8 heap. A worker's heap holds only its code and one
 * window's worth of small objects (about 12 MB in all), but V8 lets dead buffers (what
 * sealing leaves behind) pile up in proportion to the heap limit before it collects them:
 * with the default limit each worker held 50–60 MB of them. A smaller cap costs full
 * collections on many small files, measured through the archiver (0.25-scale corpus peak;
 * 200,000 files of 0–2 KiB, time and peak): no cap 490 MB; 10.3–10.6 s, 760 MB — 128 MB:
 * 420–430 MB; 11.1–11.6 s, 610–650 MB — 64 MB: 360–370 MB; 12.1–13.8 s, 515 MB — 32 MB:
 * 345 MB; 15.4–18 s, 465 MB. 128 keeps most of the speed on small files.
 */
const WORKER_HEAP_MB = 128;

/**
 * QUEUED_PER_WORKER jobs may wait per worker before the walk pauses. A few keep the
 * workers busy; more only keep the walk's entries and stats alive in the main thread's
 * heap (64 queued jobs instead of 8 cost ~20 MB of peak on the 1 GB corpus, for no speed).
 */
const QUEUED_PER_WORKER = 4;

export class ChunkPool {
  readonly #sink: ChunkSink;
  readonly #slots: Slot[] = [];
  readonly #queue: Job[] = [];
  readonly #maxQueued: number;
  #spaceWaiters: (() => void)[] = [];
  #failure: Error | undefined;

  constructor(init: WorkerInit, sink: ChunkSink, options: { workers: number; maxQueued?: number }) {
    this.#sink = sink;
    this.#maxQueued = options.maxQueued ?? QUEUED_PER_WORKER * options.workers;
    for (let i = 0; i < options.workers; i++) {
      const worker = new Worker(WORKER_URL, { resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB } });
      const slot: Slot = { worker, job: undefined, chain: Promise.resolve() };
      worker.postMessage({ type: 'init', init });
      worker.on('message', (message: FromWorker) => {
        slot.chain = slot.chain
          .then(() => this.#handle(slot, message))
          .catch((error: unknown) => this.#fail(error));
      });
      worker.on('error', (error) => this.#fail(error));
      this.#slots.push(slot);
    }
  }

  /**
   * chunk queues files for the workers. It waits while the queue is full (so a walk of a
   * million files does not run ahead of the workers) and returns the promise of the
   * results, wrapped so that awaiting the queue does not await the results.
   */
  async chunk(paths: string[], large: boolean): Promise<{ result: Promise<FileResult[]> }> {
    while (this.#queue.length >= this.#maxQueued && this.#failure === undefined) {
      await new Promise<void>((resolve) => this.#spaceWaiters.push(resolve));
    }
    if (this.#failure !== undefined) throw this.#failure;
    const result = new Promise<FileResult[]>((resolve, reject) => {
      this.#queue.push({ paths, large, chunks: [], resolve, reject });
    });
    this.#dispatch();
    return { result };
  }

  async close(): Promise<void> {
    await Promise.all(this.#slots.map((slot) => slot.worker.terminate()));
  }

  #dispatch(): void {
    for (const slot of this.#slots) {
      if (slot.job !== undefined) continue;
      const job = this.#queue.shift();
      if (job === undefined) break;
      slot.job = job;
      slot.worker.postMessage({ type: 'job', paths: job.paths, large: job.large });
    }
    while (this.#spaceWaiters.length > 0 && this.#queue.length < this.#maxQueued)
      this.#spaceWaiters.shift()?.();
  }

  async #handle(slot: Slot, message: FromWorker): Promise<void> {
    switch (message.type) {
      case 'ask': {
        const need = await this.#sink.need(message.ids);
        slot.worker.postMessage({ type: 'answer', askId: message.askId, need });
        return;
      }
      case 'chunks':
        for (const id of message.ids) slot.job?.chunks.push(id);
        return;
      case 'blobs':
        await this.#sink.accept(message.batch);
        return;
      case 'done':
      case 'failed': {
        const job = slot.job;
        slot.job = undefined;
        if (message.type === 'done' && job?.large) message.files[0].chunks = job.chunks;
        if (message.type === 'done') job?.resolve(message.files);
        else job?.reject(new Error(`chunk worker failed: ${message.message}`));
        this.#dispatch();
        return;
      }
    }
  }

  #fail(error: unknown): void {
    this.#failure ??= error instanceof Error ? error : new Error(String(error));
    for (const slot of this.#slots) slot.job?.reject(this.#failure);
    for (const job of this.#queue.splice(0)) job.reject(this.#failure);
    for (const wake of this.#spaceWaiters.splice(0)) wake();
  }
}
