import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { TEST_KDF } from '../core/keys.ts';
import { backup } from './archiver/archiver.ts';
import { initRepository } from './local-keyring.ts';
import { restore } from './restorer.ts';

const MiB = 1 << 20;

test('restore reads at most about 4 MiB of blobs at once: small files in batches, large files window by window', async (t) => {
  const work = await mkdtemp(join(tmpdir(), 'cumulus-restorer-'));
  const vault = await initRepository(join(work, 'repo'), 'pw', {
    kdf: TEST_KDF,
    chunker: { min: 64 << 10, avg: 256 << 10, max: MiB },
  });
  t.after(async () => {
    await vault.repo.close();
    await rm(work, { recursive: true, force: true });
  });
  // Random bytes are stored as they are: sealed sizes equal file sizes. Files of 3 MiB
  // straddle the batch limit; the 20 MiB one is larger than any batch.
  const source = join(work, 'source');
  await mkdir(source);
  const files = new Map<string, Buffer>([
    ['a', randomBytes(3 * MiB)],
    ['b', randomBytes(3 * MiB)],
    ['c', randomBytes(3 * MiB)],
    ['d', randomBytes(20 * MiB)],
    ['e', randomBytes(5 * MiB)],
  ]);
  for (const [name, bytes] of files) await writeFile(join(source, name), bytes);
  const { snapshotId } = await backup(vault, { paths: [source], workers: 1 });

  let mostAtOnce = 0;
  const readBlobs = vault.repo.readBlobs.bind(vault.repo);
  vault.repo.readBlobs = async (ids) => {
    const blobs = await readBlobs(ids);
    let bytes = 0;
    for (const blob of blobs.values()) bytes += blob.ok ? blob.bytes.length : 0;
    mostAtOnce = Math.max(mostAtOnce, bytes);
    return blobs;
  };
  const target = join(work, 'target');
  const result = await restore(vault, await vault.findSnapshot(snapshotId), { target });

  assert.deepEqual(result.failed, []);
  for (const [name, bytes] of files) assert.ok((await readFile(join(target, name))).equals(bytes), name);
  // A large file's window is cut by its average chunk size: it may pass 4 MiB by one chunk.
  assert.ok(mostAtOnce <= 5 * MiB, `${(mostAtOnce / MiB).toFixed(1)} MiB of blobs read at once`);
});
