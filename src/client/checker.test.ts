import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { TEST_KDF } from '../core/keys.ts';
import { PackBuilder } from '../core/pack.ts';
import { blobId } from '../core/seal.ts';
import { backup } from './archiver/archiver.ts';
import { check } from './checker.ts';
import { initRepository } from './local-keyring.ts';
import { LocalRepository } from './local-repository.ts';
import { UnlockedRepository } from './unlocked-repository.ts';

test('check --read-data opens every blob: a pack whose bytes match its hash but hold a blob sealed wrong is named', async (t) => {
  const work = await mkdtemp(join(tmpdir(), 'cumulus-checker-'));
  const vault = await initRepository(join(work, 'repo'), 'pw', { kdf: TEST_KDF });
  t.after(async () => {
    await vault.repo.close();
    await rm(work, { recursive: true, force: true });
  });
  const source = join(work, 'source');
  await mkdir(source);
  const content = Buffer.from('the file the bad pack claims to hold\n');
  await writeFile(join(source, 'claimed.txt'), content);
  await writeFile(join(source, 'other.txt'), 'an intact file\n');
  // A writer with the key (a bug, say) stores other content under the file's blob ID
  // before the backup, which then finds the ID stored and does not send it again.
  const id = blobId(vault.keys.blobId, content);
  const builder = new PackBuilder();
  builder.add('data', id, vault.seal(id, Buffer.from('something else entirely')));
  const pack = builder.finish();
  await vault.repo.putPack(pack.bytes, pack.id);
  await backup(vault, { paths: [source], workers: 1 });

  assert.ok(vault.repo instanceof LocalRepository);
  const folder = new UnlockedRepository(vault.repo, vault.keys, vault.config);
  const quick = await check(folder, { readData: false });
  assert.equal(quick.ok, true, 'the pack is whole: without --read-data nothing shows');
  const report = await check(folder, { readData: true });
  assert.equal(report.ok, false);
  assert.deepEqual(
    report.damagedPacks.map((p) => [p.packId, p.files]),
    [[pack.id, [`${source}/claimed.txt`]]],
  );
  assert.match(report.damagedPacks[0].problem, /does not match its ID/);
});
