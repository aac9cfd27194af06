/**
 * BlobPool opens sealed blobs on worker threads (one per core by default): it writes the
 * files of a restore, and verifies blobs for `check --read-data`. Each job is one message
 * carrying many blobs (a batch of small files, or one window of a large file) whose
 * buffers are transferred, not copied; a worker holds at most JOBS_PER_WORKER jobs, so it
 * has the next one at hand when it finishes one.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Subkeys } from '../core/keys.ts';
import type { FromWorker, PieceResult, SealedBlobs, ToWorker, WritePiece } from './blob-protocol.ts';

const WORKER_URL = new URL('./blob-worker.ts', import.meta.url);
const JOBS_PER_WORKER = 2;

/**
 * WORKER_HEAP_MB caps each worker's V8 heap: a worker holds only its code and the small
 * objects of two jobs, but V8 lets dead plaintext buffers pile up in proportion to the
 * limit before it collects them.
 */
const WORKER_HEAP_MB = 64;
/** WORKER_YOUNG_MB caps each worker's young generation: every blob leaves a short-lived decrypted copy there. */
const WORKER_YOUNG_MB = 4;

type Job = { message: ToWorker & { type: 'write' | 'verify' }; transfer: ArrayBuffer[] } & {
  resolve: (message: FromWorker) => void;
  reject: (error: Error) => void;
};

interface Slot {
  worker: Worker;
  jobs: Map<number, Job>;
}

/** defaultWorkers is one worker per core. */
export function defaultWorkers(): number {
  return availableParallelism();
}

/**
 * packBlobs lists blobs for a message and the buffers to transfer with it. A buffer is
 * transferred only when the blobs own all of it (a small read may be a slice of Node's
 * shared pool, which must not be detached): otherwise its blob is copied.
 */
function packBlobs(blobs: Map<string, Uint8Array>): { blobs: SealedBlobs; transfer: ArrayBuffer[] } {
  const ids: string[] = [];
  const sealed: Uint8Array[] = [];
  const covered = new Map<ArrayBufferLike, number>();
  for (const [id, bytes] of blobs) {
    ids.push(id);
    sealed.push(bytes);
    covered.set(bytes.buffer, (covered.get(bytes.buffer) ?? 0) + bytes.byteLength);
  }
  const transfer: ArrayBuffer[] = [];
  for (const [buffer, bytes] of covered) {
    if (buffer instanceof ArrayBuffer && bytes === buffer.byteLength) transfer.push(buffer);
  }
  const owned = new Set<ArrayBufferLike>(transfer);
  // A copy (Buffer#slice would share the memory).
  for (let i = 0; i < sealed.length; i++)
    if (!owned.has(sealed[i].buffer)) sealed[i] = new Uint8Array(sealed[i]);
  for (const bytes of sealed) if (!owned.has(bytes.buffer)) transfer.push(bytes.buffer as ArrayBuffer);
  return { blobs: { ids, sealed }, transfer };
}

export class BlobPool {
  readonly #slots: Slot[] = [];
  readonly #queue: Job[] = [];
  #nextJob = 0;
  #failure: Error | undefined;

  constructor(keys: Subkeys, options: { workers?: number } = {}) {
    const workers = Math.max(1, options.workers ?? defaultWorkers());
    for (let i = 0; i < workers; i++) {
      const worker = new Worker(WORKER_URL, {
        resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB, maxYoungGenerationSizeMb: WORKER_YOUNG_MB },
      });
      const slot: Slot = { worker, jobs: new Map() };
      worker.postMessage({ type: 'init', keys } satisfies ToWorker);
      worker.on('message', (message: FromWorker) => this.#settle(slot, message));
      worker.on('error', (error) => this.#fail(error));
      worker.on('exit', (code) => {
        if (slot.jobs.size > 0) this.#fail(new Error(`blob worker exited with code ${code}`));
      });
      this.#slots.push(slot);
    }
  }

  get workers(): number {
    return this.#slots.length;
  }

  /**
   * write writes the pieces with the blobs they need (`blobs` must hold every chunk of
   * every piece) and returns one result per piece, in order. The blobs' buffers are
   * handed to the worker: the caller must not touch them again.
   */
  async write(pieces: WritePiece[], blobs: Map<string, Uint8Array>): Promise<PieceResult[]> {
    const packed = packBlobs(blobs);
    const answer = await this.#run({ type: 'write', job: 0, pieces, blobs: packed.blobs }, packed.transfer);
    if (answer.type !== 'written') throw new Error(`blob worker answered ${answer.type} to a write`);
    return answer.results;
  }

  /** verify opens every blob and returns the problem of each one that does not open (by ID). */
  async verify(blobs: Map<string, Uint8Array>): Promise<Map<string, string>> {
    const packed = packBlobs(blobs);
    const answer = await this.#run({ type: 'verify', job: 0, blobs: packed.blobs }, packed.transfer);
    if (answer.type !== 'verified') throw new Error(`blob worker answered ${answer.type} to a verify`);
    const problems = new Map<string, string>();
    answer.problems.forEach((problem, i) => {
      if (problem !== null) problems.set(packed.blobs.ids[i], problem);
    });
    return problems;
  }

  async close(): Promise<void> {
    await Promise.all(this.#slots.map((slot) => slot.worker.terminate()));
  }

  #run(message: Job['message'], transfer: ArrayBuffer[]): Promise<FromWorker> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    message.job = this.#nextJob++;
    return new Promise((resolve, reject) => {
      this.#queue.push({ message, transfer, resolve, reject });
      this.#dispatch();
    });
  }

  #dispatch(): void {
    while (this.#queue.length > 0) {
      let best: Slot | undefined;
      for (const slot of this.#slots)
        if (slot.jobs.size < JOBS_PER_WORKER && (best === undefined || slot.jobs.size < best.jobs.size))
          best = slot;
      if (best === undefined) return;
      const job = this.#queue.shift() as Job;
      best.jobs.set(job.message.job, job);
      best.worker.postMessage(job.message, job.transfer);
    }
  }

  #settle(slot: Slot, message: FromWorker): void {
    const job = slot.jobs.get(message.job);
    slot.jobs.delete(message.job);
    if (job === undefined) return;
    if (message.type === 'failed') job.reject(new Error(`blob worker failed: ${message.message}`));
    else job.resolve(message);
    this.#dispatch();
  }

  #fail(error: unknown): void {
    this.#failure ??= error instanceof Error ? error : new Error(String(error));
    for (const slot of this.#slots) {
      for (const job of slot.jobs.values()) job.reject(this.#failure);
      slot.jobs.clear();
    }
    for (const job of this.#queue.splice(0)) job.reject(this.#failure);
  }
}
