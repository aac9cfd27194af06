/**
 * blobStoreContract is the node:test suite every BlobStore implementation runs, so the
 * folder, in-memory and S3 stores keep the same guarantees (see BlobStore in types.ts).
 * `make` returns a fresh, empty store and registers its own cleanup on the test context.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, type TestContext, test } from 'node:test';
import { isCumulusError } from '../core/errors.ts';
import type { BlobInfo, BlobStore } from './types.ts';

export type MakeBlobStore = (t: TestContext) => Promise<BlobStore>;

async function collect(items: AsyncIterable<BlobInfo>): Promise<BlobInfo[]> {
  const out: BlobInfo[] = [];
  for await (const item of items) out.push(item);
  return out.sort((a, b) => (a.name < b.name ? -1 : 1));
}

export function blobStoreContract(name: string, make: MakeBlobStore): void {
  describe(`BlobStore contract: ${name}`, () => {
    test('reads back what was put, whole and by range', async (t) => {
      const store = await make(t);
      const data = randomBytes(10_000);
      await store.put('packs/ab/one', data);
      assert.deepEqual(await store.get('packs/ab/one'), data);
      assert.deepEqual(
        await store.get('packs/ab/one', { offset: 1234, length: 4000 }),
        data.subarray(1234, 5234),
      );
      assert.deepEqual(await store.get('packs/ab/one', { offset: 9999, length: 1 }), data.subarray(9999));
      assert.equal(await store.size('packs/ab/one'), 10_000);
    });

    test('an empty object is an object', async (t) => {
      const store = await make(t);
      await store.put('forgotten/x', new Uint8Array(0));
      assert.equal((await store.get('forgotten/x')).length, 0);
      assert.equal(await store.size('forgotten/x'), 0);
    });

    test('a missing object is not_found; a range past the end is corrupt', async (t) => {
      const store = await make(t);
      await assert.rejects(store.get('packs/00/nothing'), (e) => isCumulusError(e, 'not_found'));
      assert.equal(await store.size('packs/00/nothing'), undefined);
      await store.put('short', Buffer.from('abc'));
      await assert.rejects(store.get('short', { offset: 2, length: 5 }), (e) => isCumulusError(e, 'corrupt'));
    });

    test('put replaces an object whole', async (t) => {
      const store = await make(t);
      await store.put('keys/k.json', Buffer.from('first version, longer'));
      await store.put('keys/k.json', Buffer.from('second'));
      assert.equal((await store.get('keys/k.json')).toString(), 'second');
    });

    test('delete removes; deleting a missing object is fine', async (t) => {
      const store = await make(t);
      await store.put('a/b', Buffer.from('x'));
      await store.delete('a/b');
      await store.delete('a/b');
      await assert.rejects(store.get('a/b'), (e) => isCumulusError(e, 'not_found'));
      assert.deepEqual(await collect(store.list('a/')), []);
    });

    test('list yields every object under a prefix with its size and time, nothing else', async (t) => {
      const store = await make(t);
      const before = Date.now() - 5_000;
      await store.put('packs/ab/1', randomBytes(3));
      await store.put('packs/cd/2', randomBytes(5));
      await store.put('packsx', randomBytes(1));
      await store.put('forgotten/s', new Uint8Array(0));
      const packs = await collect(store.list('packs/'));
      assert.deepEqual(
        packs.map(({ name, size }) => ({ name, size })),
        [
          { name: 'packs/ab/1', size: 3 },
          { name: 'packs/cd/2', size: 5 },
        ],
      );
      for (const item of packs) assert.ok(item.modifiedAt >= before && item.modifiedAt <= Date.now() + 5_000);
      assert.deepEqual(
        (await collect(store.list('packs/a'))).map((i) => i.name),
        ['packs/ab/1'],
      );
      assert.deepEqual(await collect(store.list('nothing/')), []);
    });

    test('concurrent puts of different objects all land', async (t) => {
      const store = await make(t);
      const names = Array.from({ length: 20 }, (_, i) => `packs/${String(i % 4).padStart(2, '0')}/${i}`);
      await Promise.all(names.map((n) => store.put(n, Buffer.from(n))));
      const listed = await collect(store.list('packs/'));
      assert.deepEqual(listed.map((i) => i.name).sort(), [...names].sort());
      for (const n of names) assert.equal((await store.get(n)).toString(), n);
    });

    test('probe succeeds and leaves nothing behind', async (t) => {
      const store = await make(t);
      await store.probe();
      assert.deepEqual(await collect(store.list('')), []);
    });

    test('names that could escape the store are refused', async (t) => {
      const store = await make(t);
      for (const bad of ['../x', '/etc/passwd', 'a//b', 'a/../b', '']) {
        await assert.rejects(store.put(bad, Buffer.from('x')));
      }
    });
  });
}
