import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { excludeMatcher } from '../excludes.ts';
import { Scanner } from './scanner.ts';

describe('Scanner', () => {
  const root = mkdtempSync(join(tmpdir(), 'cumulus-scanner-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, 'src/deep/deeper'), { recursive: true });
  mkdirSync(join(root, 'node_modules/pkg'), { recursive: true });
  writeFileSync(join(root, 'a.txt'), 'x'.repeat(100));
  writeFileSync(join(root, 'src/b.ts'), 'y'.repeat(2_000));
  writeFileSync(join(root, 'src/deep/deeper/c.ts'), 'z'.repeat(30_000));
  writeFileSync(join(root, 'src/empty'), '');
  writeFileSync(join(root, 'node_modules/pkg/index.js'), 'w'.repeat(5_000));
  writeFileSync(join(root, 'debug.log'), 'l'.repeat(7_000));
  symlinkSync('a.txt', join(root, 'link'));
  const single = join(root, 'src/b.ts');

  it('counts the regular files and bytes under each source, leaving out excludes and symlinks', () => {
    const scanner = new Scanner([
      { path: root, exclude: excludeMatcher(['node_modules/', '*.log']) },
      { path: single, exclude: excludeMatcher([]) },
    ]);
    while (scanner.step(1000));
    assert.deepEqual(scanner.totals, { files: 5, bytes: 100 + 2_000 + 30_000 + 0 + 2_000, done: true });
  });

  it('scans in slices until done, without blocking the caller', async () => {
    const scanner = new Scanner([{ path: root, exclude: excludeMatcher([]) }]);
    scanner.start();
    assert.equal(scanner.totals.done, false);
    while (!scanner.totals.done) await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(scanner.totals, { files: 6, bytes: 100 + 2_000 + 30_000 + 5_000 + 7_000, done: true });
  });

  it('skips a source that does not exist (the archiver reports it)', () => {
    const scanner = new Scanner([{ path: join(root, 'missing'), exclude: excludeMatcher([]) }]);
    assert.equal(scanner.step(1000), false);
    assert.deepEqual(scanner.totals, { files: 0, bytes: 0, done: true });
  });
});
