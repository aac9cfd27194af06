/**
 * Kill `cumulus backup` with SIGKILL at random moments, again and again: the repository
 * must still check clean, and the next backup must re-use what the killed ones stored
 * instead of sending it again.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { cumulus, cumulusAsync } from '../helpers/cli.ts';
import { compareTrees, pseudoRandom, writeTree } from '../helpers/trees.ts';

const work = mkdtempSync(join(tmpdir(), 'cumulus-crash-'));
after(() => rmSync(work, { recursive: true, force: true }));

const FILES = 12;
const FILE_SIZE = 4 << 20;

test('SIGKILL at random moments never damages the repository, and nothing stored is sent again', async () => {
  const repo = join(work, 'repo');
  const src = join(work, 'src');
  const files: Record<string, { type: 'file'; data: Buffer }> = {};
  for (let i = 0; i < FILES; i++) files[`f${i}.bin`] = { type: 'file', data: pseudoRandom(FILE_SIZE, i + 1) };
  writeTree(src, files);
  assert.equal(cumulus(['init', '--repo', repo]).code, 0);

  let seed = 42;
  const random = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  for (let round = 0; round < 6; round++) {
    const child = cumulusAsync(['backup', '--repo', repo, src]);
    const exited = once(child, 'exit');
    await new Promise((resolve) => setTimeout(resolve, 150 + random() * 1200));
    child.kill('SIGKILL');
    await exited;
    const check = cumulus(['check', '--repo', repo]);
    assert.equal(check.code, 0, `after kill ${round}: ${check.stdout}${check.stderr}`);
  }

  const stored = JSON.parse(cumulus(['stats', '--repo', repo, '--json']).stdout).totalPackBytes;
  const final = cumulus(['backup', '--repo', repo, src, '--json']);
  assert.equal(final.code, 0, final.stderr);
  const summary = JSON.parse(final.stdout.trim().split('\n').at(-1) as string);
  const total = FILES * FILE_SIZE;
  // Random data does not compress: a backup that re-sent stored chunks would add about `total` again.
  assert.ok(
    stored + summary.bytesAdded < total * 1.05 + (1 << 20),
    `stored before ${stored}, added ${summary.bytesAdded}, data ${total}`,
  );
  assert.equal(cumulus(['check', '--repo', repo, '--read-data']).code, 0);
  const target = join(work, 'restored');
  assert.equal(cumulus(['restore', '--repo', repo, 'latest', '--target', target]).code, 0);
  assert.deepEqual(compareTrees(src, target), []);
});

test('two backups into one repository at the same time both succeed', async () => {
  const repo = join(work, 'repo-concurrent');
  const a = join(work, 'src-a');
  const b = join(work, 'src-b');
  writeTree(a, {
    'a.bin': { type: 'file', data: pseudoRandom(6 << 20, 100) },
    'shared.bin': { type: 'file', data: pseudoRandom(3 << 20, 5) },
  });
  writeTree(b, {
    'b.bin': { type: 'file', data: pseudoRandom(6 << 20, 200) },
    'shared.bin': { type: 'file', data: pseudoRandom(3 << 20, 5) },
  });
  assert.equal(cumulus(['init', '--repo', repo]).code, 0);
  const runs = [a, b].map((src) => {
    const child = cumulusAsync(['backup', '--repo', repo, src]);
    let stderr = '';
    child.stderr?.on('data', (d) => {
      stderr += d;
    });
    return once(child, 'exit').then(([code]) => ({ code, stderr }));
  });
  for (const result of await Promise.all(runs)) assert.equal(result.code, 0, result.stderr);
  assert.equal(cumulus(['check', '--repo', repo, '--read-data']).code, 0);
  const snapshots = JSON.parse(cumulus(['snapshots', '--repo', repo, '--json']).stdout);
  assert.equal(snapshots.length, 2);
  for (const [src, snapshot] of [
    [a, snapshots.find((s: { paths: string[] }) => s.paths[0] === a)],
    [b, snapshots.find((s: { paths: string[] }) => s.paths[0] === b)],
  ]) {
    const target = join(work, `restored-${snapshot.id.slice(0, 8)}`);
    assert.equal(cumulus(['restore', '--repo', repo, snapshot.id, '--target', target]).code, 0);
    assert.deepEqual(compareTrees(src, target), []);
  }
});
