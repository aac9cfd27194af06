/**
 * End-to-end tests of the real `cumulus` command on local repositories: what a user does,
 * and what they must get back.
 */
import assert from 'node:assert/strict';
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pkg from '../../package.json' with { type: 'json' };
import { parsePack } from '../../src/core/pack.ts';
import { cumulus } from '../helpers/cli.ts';
import { compareTrees, pseudoRandom, writeTree } from '../helpers/trees.ts';

const work = mkdtempSync(join(tmpdir(), 'cumulus-e2e-'));
after(() => rmSync(work, { recursive: true, force: true }));

function packFiles(repo: string): string[] {
  const out: string[] = [];
  for (const prefix of readdirSync(join(repo, 'packs'))) {
    for (const name of readdirSync(join(repo, 'packs', prefix))) out.push(join(repo, 'packs', prefix, name));
  }
  return out;
}

function sampleTree(root: string): void {
  writeTree(root, {
    'notes.txt': { type: 'file', data: 'hello cumulus\n'.repeat(1000), mode: 0o640, mtime: 1_600_000_000 },
    'empty.txt': { type: 'file', data: '' },
    'script.sh': { type: 'file', data: '#!/bin/sh\necho hi\n', mode: 0o755 },
    'photo.raw': { type: 'file', data: pseudoRandom(3 << 20, 7) },
    'ünïcödé 名前.md': { type: 'file', data: 'unicode name\n' },
    link: { type: 'symlink', target: 'notes.txt' },
    'dangling-link': { type: 'symlink', target: 'does/not/exist' },
    'empty-dir': { type: 'dir', children: {} },
    nested: {
      type: 'dir',
      mode: 0o750,
      children: {
        deeper: { type: 'dir', children: { 'a.bin': { type: 'file', data: pseudoRandom(700_000, 3) } } },
        'copy.raw': { type: 'file', data: pseudoRandom(3 << 20, 7) },
      },
    },
  });
}

describe('a local repository through the CLI', () => {
  const repo = join(work, 'repo');
  const src = join(work, 'src');

  before(() => {
    sampleTree(src);
    const init = cumulus(['init', '--repo', repo]);
    assert.equal(init.code, 0, init.stderr);
  });

  test('backup then restore gives back an identical tree', () => {
    const backup = cumulus(['backup', '--repo', repo, src, '--json']);
    assert.equal(backup.code, 0, backup.stderr);
    const summary = JSON.parse(backup.stdout.trim().split('\n').at(-1) as string);
    assert.equal(summary.type, 'summary');
    assert.equal(summary.filesNew, 7);
    const target = join(work, 'restored');
    const restore = cumulus(['restore', '--repo', repo, 'latest', '--target', target]);
    assert.equal(restore.code, 0, restore.stderr);
    assert.deepEqual(compareTrees(src, target), []);
  });

  test('check --read-data passes on an intact repository', () => {
    const check = cumulus(['check', '--repo', repo, '--read-data']);
    assert.equal(check.code, 0, check.stdout + check.stderr);
    assert.match(check.stdout, /no errors/);
  });

  test('an unchanged re-backup reads nothing and adds almost nothing', () => {
    const again = cumulus(['backup', '--repo', repo, src, '--json']);
    assert.equal(again.code, 0, again.stderr);
    const summary = JSON.parse(again.stdout.trim().split('\n').at(-1) as string);
    assert.equal(summary.filesUnchanged, 7);
    assert.equal(summary.bytesRead, 0);
    assert.ok(summary.bytesAdded < 4096, `added ${summary.bytesAdded} bytes`);
  });

  test('a changed file is read again and the diff names it', () => {
    writeFileSync(join(src, 'notes.txt'), 'changed\n');
    const third = cumulus(['backup', '--repo', repo, src, '--json']);
    assert.equal(third.code, 0, third.stderr);
    const summary = JSON.parse(third.stdout.trim().split('\n').at(-1) as string);
    assert.equal(summary.filesChanged, 1);
    assert.equal(summary.filesUnchanged, 6);
    const list = JSON.parse(cumulus(['snapshots', '--repo', repo, '--json']).stdout);
    assert.equal(list.length, 3);
    const diff = cumulus(['diff', '--repo', repo, list[1].id.slice(0, 8), list[2].id.slice(0, 8), '--json']);
    assert.equal(diff.code, 0, diff.stderr);
    assert.deepEqual(JSON.parse(diff.stdout), [{ kind: 'M', path: `${src}/notes.txt` }]);
  });

  test('ls lists the files of a snapshot under a path', () => {
    const ls = cumulus(['ls', '--repo', repo, 'latest', `${src}/nested`, '--json']);
    assert.equal(ls.code, 0, ls.stderr);
    const paths = JSON.parse(ls.stdout).map((e: { path: string }) => e.path);
    assert.deepEqual(paths.sort(), [
      `${src}/nested`,
      `${src}/nested/copy.raw`,
      `${src}/nested/deeper`,
      `${src}/nested/deeper/a.bin`,
    ]);
  });

  test('restore --include restores only what matches', () => {
    const target = join(work, 'partial');
    const restore = cumulus([
      'restore',
      '--repo',
      repo,
      'latest',
      '--target',
      target,
      '--include',
      'nested/deeper/',
    ]);
    assert.equal(restore.code, 0, restore.stderr);
    assert.deepEqual(readdirSync(target), ['nested']);
    assert.deepEqual(readdirSync(join(target, 'nested')), ['deeper']);
    assert.ok(readFileSync(join(target, 'nested/deeper/a.bin')).equals(pseudoRandom(700_000, 3)));
  });

  test('the wrong password exits 12 and writes nothing', () => {
    const before = readdirSync(repo).map((n) => [n, statSync(join(repo, n)).mtimeMs]);
    const wrong = cumulus(['snapshots', '--repo', repo], { CUMULUS_PASSWORD: 'wrong' });
    assert.equal(wrong.code, 12);
    assert.match(wrong.stderr, /wrong password/);
    assert.equal(wrong.stderr.split('\n').filter((l) => l.startsWith('cumulus:')).length, 1);
    const backup = cumulus(['backup', '--repo', repo, src], { CUMULUS_PASSWORD: 'wrong' });
    assert.equal(backup.code, 12);
    assert.deepEqual(
      readdirSync(repo).map((n) => [n, statSync(join(repo, n)).mtimeMs]),
      before,
    );
  });

  test('a restore into a folder that is not empty is refused unless --overwrite', () => {
    const target = join(work, 'occupied');
    writeTree(target, {
      'mine.txt': { type: 'file', data: 'keep me' },
      // A folder where the snapshot has a file: --overwrite replaces it.
      'notes.txt': { type: 'dir', children: { 'old.txt': { type: 'file', data: 'in the way' } } },
    });
    const refused = cumulus(['restore', '--repo', repo, 'latest', '--target', target]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /not empty/);
    assert.equal(readFileSync(join(target, 'mine.txt'), 'utf8'), 'keep me');
    const forced = cumulus(['restore', '--repo', repo, 'latest', '--target', target, '--overwrite']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(readFileSync(join(target, 'mine.txt'), 'utf8'), 'keep me');
    assert.equal(readFileSync(join(target, 'notes.txt'), 'utf8'), 'changed\n');
  });

  test('keys: a second password opens the repository; passwd replaces the first', () => {
    assert.equal(cumulus(['key', 'add', '--repo', repo], { CUMULUS_NEW_PASSWORD: 'second' }).code, 0);
    assert.equal(cumulus(['snapshots', '--repo', repo], { CUMULUS_PASSWORD: 'second' }).code, 0);
    const keys = JSON.parse(cumulus(['key', 'list', '--repo', repo, '--json']).stdout);
    assert.equal(keys.length, 2);
    const refused = cumulus([
      'key',
      'remove',
      '--repo',
      repo,
      keys.find((k: { current: boolean }) => k.current).id,
    ]);
    assert.equal(refused.code, 2);
    assert.equal(
      cumulus(['key', 'passwd', '--repo', repo], {
        CUMULUS_PASSWORD: 'second',
        CUMULUS_NEW_PASSWORD: 'third',
      }).code,
      0,
    );
    assert.equal(cumulus(['snapshots', '--repo', repo], { CUMULUS_PASSWORD: 'second' }).code, 12);
    assert.equal(cumulus(['snapshots', '--repo', repo], { CUMULUS_PASSWORD: 'third' }).code, 0);
    assert.equal(cumulus(['snapshots', '--repo', repo]).code, 0);
  });

  test('the index can be lost: repair index rebuilds it from the packs', () => {
    const before = JSON.parse(cumulus(['snapshots', '--repo', repo, '--json']).stdout);
    for (const name of readdirSync(repo)) if (name.startsWith('index.sqlite')) rmSync(join(repo, name));
    const repair = cumulus(['repair', 'index', '--repo', repo, '--json']);
    assert.equal(repair.code, 0, repair.stdout + repair.stderr);
    const after = JSON.parse(cumulus(['snapshots', '--repo', repo, '--json']).stdout);
    assert.deepEqual(
      after.map((s: { id: string }) => s.id),
      before.map((s: { id: string }) => s.id),
    );
    const target = join(work, 'after-repair');
    assert.equal(cumulus(['restore', '--repo', repo, 'latest', '--target', target]).code, 0);
    assert.deepEqual(compareTrees(src, target), []);
    assert.equal(cumulus(['check', '--repo', repo, '--read-data']).code, 0);
  });

  test('forget --keep-last 1 --prune frees space and keeps the last snapshot restorable', () => {
    const stats = () => JSON.parse(cumulus(['stats', '--repo', repo, '--json']).stdout);
    writeFileSync(join(src, 'temporary.bin'), pseudoRandom(2 << 20, 123));
    assert.equal(cumulus(['backup', '--repo', repo, src]).code, 0);
    rmSync(join(src, 'temporary.bin'));
    assert.equal(cumulus(['backup', '--repo', repo, src]).code, 0);
    const before = stats();
    const forget = cumulus(['forget', '--repo', repo, '--keep-last', '1', '--prune', '--json']);
    assert.equal(forget.code, 0, forget.stderr);
    const after = stats();
    assert.equal(after.snapshots, 1);
    // temporary.bin (2 MiB of random data) is in no remaining snapshot: its bytes leave the disk.
    assert.ok(
      after.totalPackBytes < before.totalPackBytes - (2 << 20),
      `${after.totalPackBytes} vs ${before.totalPackBytes}`,
    );
    const target = join(work, 'after-prune');
    assert.equal(cumulus(['restore', '--repo', repo, 'latest', '--target', target]).code, 0);
    assert.deepEqual(compareTrees(src, target), []);
    assert.equal(cumulus(['check', '--repo', repo, '--read-data']).code, 0);
  });
});

describe('bad input gets a clear error', () => {
  test('a folder that is not a repository exits 10 and is left untouched', () => {
    const dir = mkdtempSync(join(work, 'not-a-repo-'));
    const result = cumulus(['snapshots', '--repo', dir]);
    assert.equal(result.code, 10);
    assert.match(result.stderr, /not a (Cumulus )?repository/i);
    assert.deepEqual(readdirSync(dir), []);
  });

  test('a source that does not exist fails before anything is written', () => {
    const repo = join(work, 'repo-missing-source');
    assert.equal(cumulus(['init', '--repo', repo]).code, 0);
    const result = cumulus(['backup', '--repo', repo, join(work, 'no-such-folder')]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /no-such-folder/);
    assert.equal(JSON.parse(cumulus(['snapshots', '--repo', repo, '--json']).stdout).length, 0);
  });

  test('init refuses a folder that already holds a repository', () => {
    const repo = join(work, 'repo-twice');
    assert.equal(cumulus(['init', '--repo', repo]).code, 0);
    const again = cumulus(['init', '--repo', repo]);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /already/);
  });

  test('an unreadable file is reported, the snapshot is saved, and the exit code is 3', (t) => {
    if (process.getuid?.() === 0) {
      t.skip('root reads every file; covered by the unprivileged run of this suite');
      return;
    }
    const repo = join(work, 'repo-unreadable');
    const src = join(work, 'src-unreadable');
    writeTree(src, { 'ok.txt': { type: 'file', data: 'fine' }, 'secret.txt': { type: 'file', data: 'no' } });
    chmodSync(join(src, 'secret.txt'), 0);
    assert.equal(cumulus(['init', '--repo', repo]).code, 0);
    const result = cumulus(['backup', '--repo', repo, src]);
    assert.equal(result.code, 3, result.stderr);
    assert.match(result.stderr, /secret\.txt/);
    const ls = JSON.parse(cumulus(['ls', '--repo', repo, 'latest', '--json']).stdout);
    assert.deepEqual(
      ls.map((e: { path: string }) => e.path),
      [`${src}/ok.txt`],
    );
  });
});

describe('corruption is found and contained', () => {
  const repo = join(work, 'repo-corrupt');
  const src = join(work, 'src-corrupt');

  before(() => {
    writeTree(src, {
      'a.bin': { type: 'file', data: pseudoRandom(2 << 20, 11) },
      'b.txt': { type: 'file', data: 'small and intact\n' },
    });
    assert.equal(cumulus(['init', '--repo', repo]).code, 0);
    assert.equal(cumulus(['backup', '--repo', repo, src]).code, 0);
  });

  test('a flipped byte in a pack is named by check --read-data, with the files it breaks', () => {
    // Damage the largest blob: a chunk of a.bin (trees and small files are far smaller).
    const [pack] = packFiles(repo);
    const bytes = readFileSync(pack);
    const largest = parsePack(bytes).sort((x, y) => y.length - x.length)[0];
    bytes[largest.offset + (largest.length >> 1)] ^= 0x01;
    chmodSync(pack, 0o644);
    writeFileSync(pack, bytes);
    const check = cumulus(['check', '--repo', repo, '--read-data']);
    assert.equal(check.code, 1, check.stdout);
    assert.match(check.stdout, new RegExp(`damaged pack ${pack.split('/').at(-1)}`));
    assert.match(check.stdout, /cannot restore: .*a\.bin/);
  });

  test('restore restores every intact file and lists the damaged one', () => {
    const target = join(work, 'restore-corrupt');
    const restore = cumulus(['restore', '--repo', repo, 'latest', '--target', target]);
    assert.equal(restore.code, 3, restore.stderr);
    assert.match(restore.stderr, /a\.bin/);
    assert.equal(readFileSync(join(target, 'b.txt'), 'utf8'), 'small and intact\n');
    assert.equal(existsSync(join(target, 'a.bin')), false);
  });
});

test('--version reports the version of the installed package (what `cumulus update` verifies)', () => {
  const result = cumulus(['--version']);
  assert.equal(result.code, 0);
  assert.equal(result.stdout.trim(), pkg.version);
});
