/**
 * End-to-end: restore through the real CLI on a tree shaped like a source tree (thousands
 * of small text files in nested folders, and a few large files). A restore killed midway
 * continues when run again and ends identical to the source; an empty repository is a
 * clear error before any progress.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cumulus, cumulusAsync } from '../helpers/cli.ts';
import { compareTrees, pseudoRandom, type Spec, writeTree } from '../helpers/trees.ts';

const work = mkdtempSync(join(tmpdir(), 'cumulus-restore-'));
after(() => rmSync(work, { recursive: true, force: true }));

const WORDS = 'const let return function import export value index await async if else for of map'.split(' ');

/** sourceText returns deterministic text of about `size` bytes that compresses like code. */
function sourceText(size: number, seed: number): string {
  const noise = pseudoRandom(size, seed);
  let text = '';
  for (let i = 0; text.length < size; i++) {
    text += WORDS[noise[i % size] % WORDS.length];
    text += noise[(i + 1) % size] % 9 === 0 ? `;\n${' '.repeat(noise[i % size] % 8)}` : ' ';
  }
  return text.slice(0, size);
}

/** sourceTree is 3,000 text files of 1–32 KB in 150 folders two levels deep, and three files of 6–12 MiB. */
function sourceTree(): Record<string, Spec> {
  const tree: Record<string, Spec> = {};
  for (let d = 0; d < 150; d++) {
    const files: Record<string, Spec> = {};
    for (let f = 0; f < 20; f++) {
      const seed = d * 20 + f + 1;
      files[`file${f}.ts`] = { type: 'file', data: sourceText(1024 + ((seed * 7919) % 31744), seed) };
    }
    tree[`pkg${d % 10}`] ??= { type: 'dir', children: {} };
    (tree[`pkg${d % 10}`] as { children: Record<string, Spec> }).children[`mod${d}`] = {
      type: 'dir',
      children: files,
    };
  }
  for (let i = 0; i < 3; i++)
    tree[`large${i}.bin`] = { type: 'file', data: pseudoRandom((6 + 3 * i) << 20, 77 + i) };
  return tree;
}

interface Progress {
  filesDone: number;
  filesTotal: number;
  bytesDone: number;
  bytesTotal: number;
  totalsFinal: boolean;
}

describe('restore through the CLI', () => {
  const src = join(work, 'src');
  const repo = join(work, 'repo');
  let fileCount = 0;
  let byteCount = 0;

  before(() => {
    writeTree(src, sourceTree());
    const count = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) count(path);
        else {
          fileCount++;
          byteCount += statSync(path).size;
        }
      }
    };
    count(src);
    assert.equal(cumulus(['init', '--repo', repo]).code, 0);
    const backup = cumulus(['backup', '--repo', repo, src]);
    assert.equal(backup.code, 0, backup.stderr);
  });

  test('a restore killed midway continues when run again and ends identical to the source', async () => {
    const target = join(work, 'interrupted');
    const child = cumulusAsync(['restore', '--repo', repo, 'latest', '--target', target, '--json']);
    const seen: Progress[] = [];
    let buffered = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        const event = JSON.parse(line) as { type: string } & Progress;
        if (event.type !== 'progress') continue;
        seen.push(event);
        // Midway: some files written, most of the bytes still to come.
        if (event.filesDone > 0 && event.bytesDone < event.bytesTotal / 2) child.kill('SIGKILL');
      }
    });
    const [code, signal] = await once(child, 'exit');
    assert.equal(signal, 'SIGKILL', `the restore ended (${code}) before it could be interrupted`);
    // The totals are known from the first progress event on.
    assert.ok(seen.length > 0);
    for (const p of seen)
      assert.deepEqual([p.filesTotal, p.bytesTotal, p.totalsFinal], [fileCount, byteCount, true]);
    assert.ok(existsSync(join(target, '.cumulus-restore')), 'the journal of the unfinished restore');
    assert.ok(compareTrees(src, target).length > 0, 'the kill left the restore unfinished');

    // A file with all its bytes but not its time is what a kill between the last write and
    // setting the mtime leaves: it must be written again, not taken as done.
    const cut = join(target, 'pkg3/mod3/file4.ts');
    const size = statSync(join(src, 'pkg3/mod3/file4.ts')).size;
    writeFileSync(cut, Buffer.alloc(size, 0x20));

    const again = cumulus(['restore', '--repo', repo, 'latest', '--target', target]);
    assert.equal(again.code, 0, again.stderr);
    const skipped = Number(/\((\d+) files were already restored\)/.exec(again.stdout)?.[1]);
    assert.ok(skipped > 0 && skipped < fileCount, again.stdout);
    assert.deepEqual(compareTrees(src, target), []);
    assert.ok(!existsSync(join(target, '.cumulus-restore')), 'the journal goes at the end');
  });

  test('a target with files of another restore, or any files, is still refused without --overwrite', () => {
    const target = join(work, 'other');
    writeTree(target, { 'mine.txt': { type: 'file', data: 'not from a restore' } });
    const refused = cumulus(['restore', '--repo', repo, 'latest', '--target', target]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /is not empty/);
  });

  test('an empty repository is a clear error, before any progress', () => {
    const empty = join(work, 'empty');
    assert.equal(cumulus(['init', '--repo', empty]).code, 0);
    const result = cumulus([
      'restore',
      '--repo',
      empty,
      'latest',
      '--target',
      join(work, 'nothing'),
      '--json',
    ]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /there is no snapshot yet/);
    assert.doesNotMatch(result.stdout, /progress/);
    assert.ok(!existsSync(join(work, 'nothing')));
  });
});
