import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { deriveSubkeys } from '../core/keys.ts';
import { blobId, sealBlob } from '../core/seal.ts';
import { BlobPool } from './blob-pool.ts';

const keys = deriveSubkeys(Buffer.alloc(32, 3), 'cd'.repeat(32));
const work = mkdtempSync(join(tmpdir(), 'cumulus-blob-pool-'));
after(() => rmSync(work, { recursive: true, force: true }));

function blob(text: string): { id: string; plain: Buffer; sealed: Buffer } {
  const plain = Buffer.from(text);
  const id = blobId(keys.blobId, plain);
  return { id, plain, sealed: sealBlob(keys, id, plain) };
}

/** oneBuffer lays sealed blobs end to end in one buffer, as a read of a pack range does. */
function oneBuffer(blobs: { id: string; sealed: Buffer }[]): Map<string, Uint8Array> {
  const all = Buffer.concat(blobs.map((b) => b.sealed));
  const map = new Map<string, Uint8Array>();
  let at = 0;
  for (const b of blobs) {
    map.set(b.id, all.subarray(at, at + b.sealed.length));
    at += b.sealed.length;
  }
  return map;
}

describe('BlobPool', () => {
  const pool = new BlobPool(keys, { workers: 2 });
  after(() => pool.close());

  test('writes many files per job, pieces of one file at their positions, with mode and mtime', async () => {
    const parts = [blob('first part, '.repeat(500)), blob('second part. '.repeat(700)), blob('small file\n')];
    const big = join(work, 'big.txt');
    const small = join(work, 'small.txt');
    const first = await pool.write(
      [
        { path: big, position: 0, chunks: [parts[0].id], create: true, replace: false },
        {
          path: small,
          position: 0,
          chunks: [parts[2].id],
          create: true,
          replace: false,
          finish: { mode: 0o640, mtime: 1_000_000 },
        },
      ],
      oneBuffer([parts[0], parts[2]]),
    );
    assert.deepEqual(first, [
      { ok: true, bytes: parts[0].plain.length },
      { ok: true, bytes: parts[2].plain.length },
    ]);
    const second = await pool.write(
      [
        {
          path: big,
          position: parts[0].plain.length,
          chunks: [parts[1].id],
          create: false,
          replace: false,
          finish: { mode: 0o600, mtime: 2_000_000 },
        },
      ],
      oneBuffer([parts[1]]),
    );
    assert.deepEqual(second, [{ ok: true, bytes: parts[1].plain.length }]);
    assert.ok(readFileSync(big).equals(Buffer.concat([parts[0].plain, parts[1].plain])));
    assert.ok(readFileSync(small).equals(parts[2].plain));
    assert.equal(statSync(small).mode & 0o777, 0o640);
    assert.equal(statSync(small).mtimeMs, 1_000_000_000);
    assert.equal(statSync(big).mtimeMs, 2_000_000_000);
  });

  test('a blob that does not open costs its own file only, which is not left behind', async () => {
    const good = blob('intact');
    const bad = blob('damaged');
    bad.sealed[20] ^= 1;
    const results = await pool.write(
      [
        { path: join(work, 'bad'), position: 0, chunks: [good.id, bad.id], create: true, replace: false },
        { path: join(work, 'good'), position: 0, chunks: [good.id], create: true, replace: false },
      ],
      oneBuffer([good, bad]),
    );
    assert.equal(results[0].ok, false);
    assert.match(results[0].ok ? '' : results[0].reason, /blob [0-9a-f]{8} is damaged/);
    assert.deepEqual(results[1], { ok: true, bytes: good.plain.length });
    assert.throws(() => statSync(join(work, 'bad')), /ENOENT/);
  });

  test('a folder where a file goes fails that file with its errno', async () => {
    const b = blob('x');
    const [result] = await pool.write(
      [{ path: work, position: 0, chunks: [b.id], create: true, replace: false }],
      oneBuffer([b]),
    );
    assert.deepEqual(result.ok ? undefined : result.errno, 'EISDIR');
  });

  test('verify names every blob that does not open; a slice of a shared buffer is copied, not taken', async () => {
    const blobs = Array.from({ length: 50 }, (_, i) => blob(`blob ${i} `.repeat(i + 1)));
    blobs[7].sealed[30] ^= 4;
    // Small Buffers are cut from one pool buffer shared with unrelated ones: it must not be detached.
    const pooled = Buffer.from(blobs[0].sealed);
    const neighbour = Buffer.from('a neighbour in the pool');
    assert.equal(pooled.buffer, neighbour.buffer);
    const problems = await pool.verify(new Map([...oneBuffer(blobs.slice(1)), [blobs[0].id, pooled]]));
    assert.deepEqual([...problems.keys()], [blobs[7].id]);
    assert.equal(neighbour.toString(), 'a neighbour in the pool');
    assert.equal(pooled.length, blobs[0].sealed.length);
  });
});
