import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { isCumulusError } from '../core/errors.ts';
import { blobStoreContract } from './blob-store.contract.ts';
import { s3StoreAt, withS3 } from './s3-testing.ts';

const servers = withS3();

blobStoreContract('s3 (s3rver)', async (t) => {
  const { store, close } = s3StoreAt(servers.s3());
  t.after(close);
  return store;
});

blobStoreContract('s3 with a fault in every third request', async (t) => {
  const { store, close } = s3StoreAt(servers.faulty());
  servers.faulty().rotate(3);
  t.after(() => {
    servers.faulty().clear();
    close();
  });
  return store;
});

describe('S3BlobStore faults', () => {
  test('each fault is retried and the bytes come back whole', async (t) => {
    const { store, close } = s3StoreAt(servers.faulty());
    t.after(close);
    const data = randomBytes(300_000);
    for (const fault of ['drop', 'internalError', 'slowDown', 'losePut'] as const) {
      servers.faulty().inject(fault, { method: 'PUT' });
      await store.put(`packs/aa/${fault}`, data);
      assert.deepEqual(await store.get(`packs/aa/${fault}`), data, fault);
    }
    for (const fault of ['drop', 'internalError', 'slowDown', 'truncate'] as const) {
      servers.faulty().inject(fault, { method: 'GET' });
      assert.deepEqual(
        await store.get('packs/aa/drop', { offset: 1000, length: 200_000 }),
        data.subarray(1000, 201_000),
        fault,
      );
    }
    assert.ok(servers.faulty().counts.truncate >= 1 && servers.faulty().counts.losePut >= 1);
  });

  test('storage that stays down is a network error that names the bucket, not a missing object', async (t) => {
    const { store, close } = s3StoreAt(servers.faulty(), { maxAttempts: 2 });
    t.after(() => {
      servers.faulty().clear();
      close();
    });
    await store.put('packs/bb/x', Buffer.from('x'));
    servers.faulty().inject('slowDown', { times: 10 });
    await assert.rejects(
      store.get('packs/bb/x'),
      (e) =>
        isCumulusError(e, 'network') &&
        e.message.includes(servers.faulty().bucket) &&
        e.message.includes('SlowDown'),
    );
  });

  test('a write the storage keeps losing is refused', async (t) => {
    const { store, close } = s3StoreAt(servers.faulty());
    t.after(() => {
      servers.faulty().clear();
      close();
    });
    servers.faulty().inject('losePut', { times: 2 });
    await assert.rejects(store.put('packs/cc/lost', Buffer.from('data')), (e) =>
      isCumulusError(e, 'network'),
    );
    assert.equal(await store.size('packs/cc/lost'), undefined);
  });

  test('a wrong secret is a clear error that does not show the key', async (t) => {
    const { S3Client } = await import('@aws-sdk/client-s3');
    const { S3BlobStore } = await import('./s3-blob-store.ts');
    const client = new S3Client({
      endpoint: servers.s3().endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'NOBODY', secretAccessKey: 'not-the-secret-4711' },
    });
    t.after(() => client.destroy());
    const store = new S3BlobStore(client, { bucket: servers.s3().bucket, prefix: 'wrong' });
    await assert.rejects(store.probe(), (e) => {
      assert.ok(isCumulusError(e, 'network'));
      assert.doesNotMatch(`${e.message} ${e.hint}`, /not-the-secret-4711/);
      assert.match(e.hint ?? '', /AWS_ACCESS_KEY_ID/);
      return true;
    });
  });
});
