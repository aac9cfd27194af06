import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { blobStoreContract } from './blob-store.contract.ts';
import { FolderBlobStore } from './folder-blob-store.ts';

async function tempFolder(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cumulus-folder-store-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

blobStoreContract('folder', async (t) => new FolderBlobStore(await tempFolder(t)));

test('a put leaves no temporary file behind', async (t) => {
  const dir = await tempFolder(t);
  const store = new FolderBlobStore(dir);
  await store.put('packs/ab/abc', Buffer.from('pack'));
  assert.deepEqual(await readdir(join(dir, 'packs/ab')), ['abc']);
});

// A full disk is simulated with a 64 KiB tmpfs mounted in a private mount namespace, so
// nothing outlives the child process. Skipped where user namespaces are not allowed.
const FULL_DISK_CHILD = `
  import { FolderBlobStore } from ${JSON.stringify(new URL('./folder-blob-store.ts', import.meta.url).href)};
  import { readdir } from 'node:fs/promises';
  const store = new FolderBlobStore(process.argv[1]);
  await store.put('packs/aa/small', Buffer.alloc(1000, 1));
  let code = 'none';
  try { await store.put('packs/aa/big', Buffer.alloc(1 << 20, 2)); } catch (e) { code = e.code; }
  const left = await readdir(process.argv[1] + '/packs/aa');
  const small = (await store.get('packs/aa/small')).length;
  console.log(JSON.stringify({ code, left, small }));
`;

test('a full disk is disk_full and leaves no half-written file', async (t) => {
  const dir = await tempFolder(t);
  const script = `mount -t tmpfs -o size=64k tmpfs "$1" && exec "$2" --input-type=module -e "$3" "$1"`;
  const child = spawnSync(
    'unshare',
    ['-rm', 'sh', '-c', script, 'sh', dir, process.execPath, FULL_DISK_CHILD],
    {
      encoding: 'utf8',
    },
  );
  if (child.status !== 0 && /unshare|mount/.test(child.stderr)) {
    t.skip(`cannot mount a small tmpfs here: ${child.stderr.trim()}`);
    return;
  }
  assert.equal(child.status, 0, child.stderr);
  assert.deepEqual(JSON.parse(child.stdout), { code: 'disk_full', left: ['small'], small: 1000 });
});
