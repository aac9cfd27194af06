import assert from 'node:assert/strict';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { restoredRoot } from './phases.ts';
import { compareDigests, describeDifference, treeDigest, treeStats } from './tree.ts';

const dir = mkdtempSync(join(tmpdir(), 'bench-tree-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function makeTree(root: string): void {
  mkdirSync(join(root, 'sub/empty'), { recursive: true });
  writeFileSync(join(root, 'a.txt'), 'hello');
  writeFileSync(join(root, 'sub/b.bin'), Buffer.alloc(5000, 7));
  symlinkSync('../a.txt', join(root, 'sub/link'));
}

test('treeStats counts files, folders and symlinks and sums file sizes', () => {
  const root = join(dir, 'stats');
  makeTree(root);
  assert.deepEqual(treeStats(root), { files: 2, dirs: 2, symlinks: 1, bytes: 5005 });
});

test('a faithful copy has the same digest; content, mode, missing and extra entries are each reported', () => {
  const source = join(dir, 'source');
  makeTree(source);
  const copy = join(dir, 'copy');
  cpSync(source, copy, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
  const expected = treeDigest(source);
  assert.deepEqual(compareDigests(expected, treeDigest(copy)), []);

  writeFileSync(join(copy, 'sub/b.bin'), Buffer.alloc(5000, 8));
  chmodSync(join(copy, 'a.txt'), 0o600);
  rmSync(join(copy, 'sub/empty'), { recursive: true });
  writeFileSync(join(copy, 'extra'), '');
  const differences = compareDigests(expected, treeDigest(copy)).map(describeDifference);
  assert.equal(differences.length, 4);
  assert.match(differences[0], /^differs: a\.txt .*file 644.*file 600/);
  assert.equal(differences[1], 'unexpected: extra');
  assert.match(differences[2], /^differs: sub\/b\.bin/);
  assert.equal(differences[3], 'missing: sub/empty');
});

test('restoredRoot finds the source tree at the top of the target or below its absolute path', () => {
  const source = join(dir, 'src-root');
  makeTree(source);
  const flat = join(dir, 'flat');
  makeTree(flat);
  assert.equal(restoredRoot(flat, source), flat);
  const nested = join(dir, 'nested');
  makeTree(join(nested, source));
  assert.equal(restoredRoot(nested, source), join(nested, source));
});
