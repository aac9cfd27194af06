/**
 * End-to-end: the pack that holds a snapshot's description is lost. That snapshot is
 * named as unreadable, and every other one can still be listed, restored and forgotten.
 * Each command runs on a new device (an empty cache), as after the laptop died.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parsePack } from '../../src/core/pack.ts';
import { cumulus } from '../helpers/cli.ts';
import { writeTree } from '../helpers/trees.ts';

const work = mkdtempSync(join(tmpdir(), 'cumulus-lost-snapshot-'));
after(() => rmSync(work, { recursive: true, force: true }));

function packFiles(repo: string): string[] {
  return readdirSync(join(repo, 'packs')).flatMap((prefix) =>
    readdirSync(join(repo, 'packs', prefix)).map((name) => join(repo, 'packs', prefix, name)),
  );
}

/** onNewDevice runs a command with a cache of its own, so nothing is read from an earlier run's cache. */
function onNewDevice(args: string[]) {
  return cumulus(args, { CUMULUS_CACHE_DIR: mkdtempSync(join(work, 'cache-')) });
}

function backup(repo: string, source: string): string {
  const result = cumulus(['backup', '--repo', repo, '--json', source]);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout.trim().split('\n').at(-1) as string).snapshot;
}

describe('a lost snapshot description costs only that snapshot', () => {
  const repo = join(work, 'repo');
  const src = join(work, 'src');
  let older = '';
  let newer = '';

  before(() => {
    writeTree(src, { 'a.txt': { type: 'file', data: 'first version\n' } });
    assert.equal(cumulus(['init', '--repo', repo]).code, 0);
    older = backup(repo, src);
    const packsBefore = new Set(packFiles(repo));
    writeTree(src, { 'a.txt': { type: 'file', data: 'second version\n' } });
    newer = backup(repo, src);
    const holder = packFiles(repo).find(
      (path) =>
        !packsBefore.has(path) &&
        parsePack(readFileSync(path)).some((entry) => entry.type === 'snapshot' && entry.id === newer),
    );
    assert.ok(holder !== undefined, 'the second backup wrote the pack of its snapshot');
    rmSync(holder);
  });

  test('snapshots lists the readable one, names the lost one, exits 3', () => {
    const listed = onNewDevice(['snapshots', '--repo', repo, '--json']);
    assert.equal(listed.code, 3, listed.stderr);
    assert.deepEqual(
      JSON.parse(listed.stdout).map((s: { id: string }) => s.id),
      [older],
    );
    assert.match(listed.stderr, new RegExp(`snapshot ${newer.slice(0, 8)} of \\S+ cannot be read: `));
  });

  test('restore latest restores the newest readable snapshot and says which one it skipped', () => {
    const target = join(work, 'restored');
    const restored = onNewDevice(['restore', '--repo', repo, 'latest', '--target', target]);
    assert.equal(restored.code, 0, restored.stderr);
    assert.match(restored.stderr, new RegExp(`newer snapshot ${newer.slice(0, 8)} .* cannot be read`));
    assert.match(restored.stdout, new RegExp(`from ${older.slice(0, 8)}`));
    assert.deepEqual(readdirSync(target), ['a.txt']);
    assert.equal(readFileSync(join(target, 'a.txt'), 'utf8'), 'first version\n');
  });

  test('restore of the lost snapshot by ID says why it cannot', () => {
    const refused = onNewDevice(['restore', '--repo', repo, newer.slice(0, 12), '--target', join(work, 'x')]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, new RegExp(`snapshot ${newer.slice(0, 8)} cannot be read`));
  });

  test('the lost snapshot can be forgotten, and the listing is whole again', () => {
    const forgotten = onNewDevice(['forget', '--repo', repo, newer.slice(0, 12)]);
    assert.equal(forgotten.code, 0, forgotten.stderr);
    assert.match(forgotten.stdout, new RegExp(`removed snapshot ${newer.slice(0, 8)}`));
    const listed = onNewDevice(['snapshots', '--repo', repo, '--json']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.equal(JSON.parse(listed.stdout).length, 1);
  });
});
