/**
 * End-to-end: a pack lost or cut short in a local repository costs only the files whose
 * data it held. `check` names the pack, the snapshots and the files; `restore` restores
 * everything else, names what it could not restore, and exits 3.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, beforeEach, describe, test } from 'node:test';
import { parsePack } from '../../src/core/pack.ts';
import { cumulus } from '../helpers/cli.ts';
import { compareTrees, pseudoRandom, writeTree } from '../helpers/trees.ts';

const work = mkdtempSync(join(tmpdir(), 'cumulus-lost-pack-'));
after(() => rmSync(work, { recursive: true, force: true }));

// small.txt is backed up alone first, so its data is in an older pack whatever order the
// workers of the second backup store the big files' chunks in.
const small = { type: 'file', data: 'small and intact\n' } as const;
const first = join(work, 'first');
writeTree(first, { 'small.txt': small });
const src = join(work, 'src');
writeTree(src, {
  'big-1.bin': { type: 'file', data: pseudoRandom(12 << 20, 21) },
  'big-2.bin': { type: 'file', data: pseudoRandom(12 << 20, 22) },
  'small.txt': small,
});

function packFiles(repo: string): string[] {
  return readdirSync(join(repo, 'packs')).flatMap((prefix) =>
    readdirSync(join(repo, 'packs', prefix)).map((name) => join(repo, 'packs', prefix, name)),
  );
}

describe('a lost pack costs only the files that need it', () => {
  let repo = '';
  let snapshot = '';
  let pack = '';

  beforeEach(() => {
    repo = mkdtempSync(join(work, 'repo-'));
    assert.equal(cumulus(['init', '--repo', repo]).code, 0);
    assert.equal(cumulus(['backup', '--repo', repo, first]).code, 0);
    const older = new Set(packFiles(repo));
    const backup = cumulus(['backup', '--repo', repo, '--json', src]);
    assert.equal(backup.code, 0, backup.stderr);
    snapshot = JSON.parse(backup.stdout.trim().split('\n').at(-1) as string).snapshot;
    // A pack of the second backup that holds file data only (the trees and the snapshot come last).
    const found = packFiles(repo).find(
      (path) => !older.has(path) && parsePack(readFileSync(path)).every((entry) => entry.type === 'data'),
    );
    assert.ok(found !== undefined, 'the second backup wrote a pack of data only');
    pack = found;
  });

  for (const damage of ['deleted', 'truncated', 'unreadable'] as const) {
    test(`a ${damage} pack: check names it with the snapshot and files, restore restores the rest`, () => {
      if (damage === 'deleted') rmSync(pack);
      else if (damage === 'truncated') truncateSync(pack, 1 << 20);
      else {
        // The tests run as root, whom chmod 000 does not stop: a folder in its place cannot be read.
        rmSync(pack);
        mkdirSync(pack);
      }
      const packId = pack.split('/').at(-1) as string;

      const check = cumulus(['check', '--repo', repo]);
      assert.equal(check.code, 1, check.stdout + check.stderr);
      assert.match(check.stdout, new RegExp(`damaged pack ${packId}: `));
      assert.match(check.stdout, new RegExp(`snapshots affected: ${snapshot.slice(0, 8)}\n`));
      const named = [...check.stdout.matchAll(/cannot restore: .*\/(big-[12]\.bin)$/gm)].map((m) => m[1]);
      assert.ok(named.length > 0, check.stdout);
      assert.doesNotMatch(check.stdout, /small\.txt/);

      const target = join(work, `restore-${damage}`);
      const restore = cumulus(['restore', '--repo', repo, 'latest', '--target', target]);
      assert.equal(restore.code, 3, restore.stderr);
      for (const file of named) assert.match(restore.stderr, new RegExp(`${file}: .*${packId.slice(0, 8)}`));
      // Everything the check did not name comes back identical.
      const differences = compareTrees(src, target).filter((d) => !named.includes(d.path));
      assert.deepEqual(differences, []);
    });
  }
});
