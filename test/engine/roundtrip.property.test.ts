/**
 * Property: for any tree of files — unicode names, empty files, sizes at and around chunk
 * boundaries, symlinks, empty directories, modes — backup then restore gives it back
 * exactly, and a second backup of it adds nothing but the snapshot.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import fc from 'fast-check';
import { backup } from '../../src/client/archiver/archiver.ts';
import { initRepository } from '../../src/client/local-keyring.ts';
import { restore } from '../../src/client/restorer.ts';
import { TEST_KDF } from '../../src/core/keys.ts';
import { compareTrees, pseudoRandom, type Spec, writeTree } from '../helpers/trees.ts';

const CHUNKER = { min: 2048, avg: 8192, max: 32768 };
const work = mkdtempSync(join(tmpdir(), 'cumulus-prop-'));
after(() => rmSync(work, { recursive: true, force: true }));

const name = fc
  .string({ unit: 'grapheme', minLength: 1, maxLength: 12 })
  .filter(
    (s) => !s.includes('/') && !s.includes('\0') && s !== '.' && s !== '..' && Buffer.byteLength(s) < 200,
  );

const size = fc.oneof(
  fc.constantFrom(
    0,
    1,
    CHUNKER.min - 1,
    CHUNKER.min,
    CHUNKER.min + 1,
    CHUNKER.max - 1,
    CHUNKER.max,
    CHUNKER.max + 1,
  ),
  fc.integer({ min: 0, max: 150_000 }),
);

const file = fc.record({
  type: fc.constant('file' as const),
  data: fc
    .tuple(size, fc.integer({ min: 1, max: 1000 }), fc.boolean())
    .map(([n, seed, text]) =>
      text ? Buffer.from('lorem ipsum dolor '.repeat(Math.ceil(n / 18)).slice(0, n)) : pseudoRandom(n, seed),
    ),
  mode: fc.constantFrom(0o644, 0o600, 0o755, 0o400, 0o640),
  mtime: fc.integer({ min: 0, max: 2_000_000_000 }),
});

const symlink = fc.record({ type: fc.constant('symlink' as const), target: name });

const tree: fc.Arbitrary<Record<string, Spec>> = fc.letrec<{ dir: Record<string, Spec> }>((tie) => ({
  dir: fc.dictionary(
    name,
    fc.oneof(
      { weight: 4, arbitrary: file },
      { weight: 1, arbitrary: symlink },
      {
        weight: 1,
        arbitrary: fc.record({
          type: fc.constant('dir' as const),
          children: tie('dir'),
          mode: fc.constantFrom(0o755, 0o700, 0o750),
        }),
      },
    ),
    { maxKeys: 6, depthIdentifier: 'tree' },
  ),
})).dir;

test('backup → restore round-trips any tree exactly', async () => {
  let run = 0;
  await fc.assert(
    fc.asyncProperty(tree, async (children) => {
      const dir = join(work, `case-${run++}`);
      const src = join(dir, 'src');
      writeTree(src, children);
      const vault = await initRepository(join(dir, 'repo'), 'pw', { kdf: TEST_KDF, chunker: CHUNKER });
      try {
        await backup(vault, { paths: [src], workers: 2 });
        const target = join(dir, 'restored');
        const snapshot = await vault.findSnapshot('latest');
        const result = await restore(vault, snapshot, { target });
        assert.deepEqual(result.failed, []);
        assert.deepEqual(compareTrees(src, target), []);
        const again = await backup(vault, { paths: [src], workers: 2 });
        assert.equal(again.summary.bytesRead, 0);
      } finally {
        await vault.repo.close();
        rmSync(dir, { recursive: true, force: true });
      }
    }),
    { numRuns: 12 },
  );
});
