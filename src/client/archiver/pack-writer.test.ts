import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { packId, parsePack } from '../../core/pack.ts';
import { PackWriter } from './pack-writer.ts';

/**
 * SlowStore takes a while to store each pack and copies it only as the upload ends, as a
 * network or a disk would read it: a writer that reused a pack's memory too early would
 * store damaged packs. It records how many bytes of packs were uploading at once.
 */
class SlowStore {
  readonly stored = new Map<string, Buffer>();
  uploading = 0;
  mostUploading = 0;

  async putPack(pack: Uint8Array, id: string): Promise<void> {
    this.uploading += pack.length;
    this.mostUploading = Math.max(this.mostUploading, this.uploading);
    await sleep(Math.random() * 3);
    this.stored.set(id, Buffer.from(pack));
    this.uploading -= pack.length;
  }
}

test('packs stay within the target size, in at most maxUploads buffers, each stored intact', async () => {
  const store = new SlowStore();
  const targetSize = 64 << 10;
  const writer = new PackWriter(store, { targetSize, maxUploads: 2 });
  const added = new Map<string, Buffer>();
  for (let i = 0; i < 300; i++) {
    const sealed = randomBytes(1 + Math.floor(Math.random() * 8000));
    const id = randomBytes(32).toString('hex');
    added.set(id, Buffer.from(sealed));
    await writer.add('data', id, sealed);
    sealed.fill(0); // the caller may reuse its blob once add resolves
  }
  await writer.flush();

  // No pack holds more than the target size, so the blobs need at least this many packs.
  const total = [...added.values()].reduce((sum, blob) => sum + blob.length, 0);
  assert.ok(writer.packs >= Math.ceil(total / targetSize), `${writer.packs} packs for ${total} bytes`);
  assert.equal(
    writer.buffers,
    2,
    'a pack fills only while fewer than two upload: two buffers, reused for every pack',
  );
  assert.ok(store.mostUploading <= 2 * targetSize, `${store.mostUploading} bytes uploading at once`);
  const found = new Map<string, Buffer>();
  for (const [id, pack] of store.stored) {
    assert.equal(packId(pack), id, 'a pack is stored as it was named');
    assert.ok(pack.length <= targetSize, `a pack of ${pack.length} bytes`);
    for (const entry of parsePack(pack))
      found.set(entry.id, pack.subarray(entry.offset, entry.offset + entry.length));
  }
  assert.deepEqual(found, added);
});

test('a blob larger than the target size gets a pack of its own', async () => {
  const store = new SlowStore();
  const writer = new PackWriter(store, { targetSize: 4096 });
  await writer.add('data', 'a'.repeat(64), randomBytes(100));
  await writer.add('data', 'b'.repeat(64), randomBytes(10_000));
  await writer.add('data', 'c'.repeat(64), randomBytes(100));
  await writer.flush();
  const counts = [...store.stored.values()].map((pack) => parsePack(pack).length);
  assert.deepEqual(counts, [1, 1, 1]);
});
