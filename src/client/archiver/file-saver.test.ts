import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FileSaver, SMALL_BATCH_BYTES, SMALL_BATCH_FILES } from './file-saver.ts';
import type { FileResult } from './worker-protocol.ts';

/** recordingPool answers every job at once and records what it was given. */
function recordingPool() {
  const jobs: { paths: string[]; large: boolean }[] = [];
  return {
    jobs,
    chunk: async (paths: string[], large: boolean) => {
      jobs.push({ paths, large });
      return { result: Promise.resolve(paths.map((p): FileResult => ({ chunks: [p], bytesRead: 1 }))) };
    },
  };
}

describe('FileSaver', () => {
  it('gathers small files into one batch across directories, until flushed', async () => {
    const pool = recordingPool();
    const done: string[] = [];
    const saver = new FileSaver(
      () => pool,
      1_000,
      (item: string, r) => done.push(`${item}:${r.chunks[0]}`),
    );
    const first = await saver.save('/a/1', 10, 'one');
    const second = await saver.save('/b/2', 10, 'two');
    assert.equal(pool.jobs.length, 0);
    assert.equal(first.done, second.done);
    await saver.flush();
    await first.done;
    assert.deepEqual(pool.jobs, [{ paths: ['/a/1', '/b/2'], large: false }]);
    assert.deepEqual(done, ['one:/a/1', 'two:/b/2']);
  });

  it('sends a file larger than the minimum chunk alone, at once', async () => {
    const pool = recordingPool();
    const saver = new FileSaver(
      () => pool,
      1_000,
      () => {},
    );
    await saver.save('/small', 10, 0);
    const { done } = await saver.save('/big', 1_001, 0);
    await done;
    assert.deepEqual(pool.jobs, [{ paths: ['/big'], large: true }]);
  });

  it('sends a batch when it is full by count or by bytes', async () => {
    const pool = recordingPool();
    const saver = new FileSaver(
      () => pool,
      SMALL_BATCH_BYTES,
      () => {},
    );
    for (let i = 0; i < SMALL_BATCH_FILES; i++) await saver.save(`/f${i}`, 1, i);
    assert.equal(pool.jobs.length, 1);
    assert.equal(pool.jobs[0].paths.length, SMALL_BATCH_FILES);
    await saver.save('/half1', SMALL_BATCH_BYTES / 2, 0);
    await saver.save('/half2', SMALL_BATCH_BYTES / 2, 0);
    assert.deepEqual(pool.jobs[1].paths, ['/half1', '/half2']);
  });

  it('fails the promise of every file of a batch the pool failed', async () => {
    const saver = new FileSaver(
      () => ({ chunk: async () => ({ result: Promise.reject(new Error('worker died')) }) }),
      1_000,
      () => {},
    );
    const { done } = await saver.save('/x', 1, 0);
    await saver.flush();
    await assert.rejects(done, /worker died/);
  });
});
