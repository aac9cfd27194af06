/**
 * A server keeping packs in S3 (s3rver behind FaultyS3, so requests also meet dropped
 * connections, 500 and SlowDown): a device whose write session went stale while it
 * uploaded commits blobs the server's gc has condemned meanwhile; the commit is refused,
 * the backup uploads them again and commits, the restore is identical, and after the grace
 * the condemned objects leave the bucket.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { backup } from '../../src/client/archiver/archiver.ts';
import { type CachedRepository, withIndexCache } from '../../src/client/cached-repository.ts';
import { restore } from '../../src/client/restorer.ts';
import { isCumulusError } from '../../src/core/errors.ts';
import { DEFAULT_SERVER_GRACE_MS } from '../../src/server/services/account-repositories.ts';
import { STALE_LOCK_MS } from '../../src/store/repository-store.ts';
import { FaultyS3, type RunningS3, s3StoreAt, settingsFor, startS3rver } from '../../src/store/s3-testing.ts';
import { compareTrees } from '../helpers/trees.ts';
import { startTestServer, type TestServer } from './helpers.ts';
import { newAccount, randomTree, storeOf } from './repository-helpers.ts';

const MINUTE = 60_000;
const PREFIX = 'server-gc';

describe('a server with its packs in S3 collects garbage safely', () => {
  let s3: RunningS3;
  let faulty: FaultyS3;
  let server: TestServer;
  let work: string;
  before(async () => {
    s3 = await startS3rver();
    faulty = await FaultyS3.start(s3);
    server = await startTestServer({
      config: { blobStore: { kind: 's3', settings: settingsFor(faulty, PREFIX) } },
    });
    work = await mkdtemp(join(tmpdir(), 'cumulus-s3-gc-'));
  });
  after(async () => {
    await server.close();
    await faulty.close();
    await s3.close();
    await rm(work, { recursive: true, force: true });
  });

  it('refuses a late commit of condemned blobs; the backup uploads them again and restores identically', async () => {
    const laptop = await newAccount(server, 'late@example.com');
    const vault = withIndexCache(laptop.vault, join(work, 'cache'));
    const tree = await randomTree(4, 300_000, 21);
    const account = await storeOf(server, laptop.state.accountId);
    const remote = (vault.repo as CachedRepository).inner;
    const commit = remote.commitSnapshot.bind(remote);
    let slept = false;
    let refused = 0;
    remote.commitSnapshot = async (snapshot) => {
      if (!slept) {
        // The device slept before committing: its session went stale and gc ran.
        slept = true;
        server.clock.advance(STALE_LOCK_MS + DEFAULT_SERVER_GRACE_MS + MINUTE);
        const report = await account.collectGarbage();
        assert.ok(report!.condemnedPacks > 0, 'the uploads were condemned');
      }
      try {
        return await commit(snapshot);
      } catch (error) {
        if (isCumulusError(error, 'blob_missing')) refused++;
        throw error;
      }
    };
    faulty.rotate(5);
    const result = await backup(vault, { paths: [tree], host: 'laptop', workers: 1 });
    assert.equal(refused, 1, 'the first commit was refused, the one after the re-upload taken');

    const target = join(work, 'restored');
    await restore(vault, await vault.findSnapshot(result.snapshotId), { target });
    assert.deepEqual(compareTrees(tree, target), []);

    // After the grace the condemned objects go, and the bucket holds what the index names.
    server.clock.advance(DEFAULT_SERVER_GRACE_MS + MINUTE);
    const purge = await account.collectGarbage();
    assert.ok(purge!.purgedPacks > 0);
    assert.equal(purge!.condemnedPacks, 0);
    faulty.clear();
    const { store: bucket, close } = s3StoreAt(s3, { prefix: `${PREFIX}/${laptop.state.accountId}` });
    try {
      let objects = 0;
      for await (const _ of bucket.list('packs/')) objects++;
      assert.equal(objects, (await account.store.usage()).packs);
    } finally {
      close();
    }
    const again = join(work, 'restored-again');
    await restore(vault, await vault.findSnapshot(result.snapshotId), { target: again });
    assert.deepEqual(compareTrees(tree, again), []);
    assert.ok((await account.store.checkPacks({ readData: true })).every((c) => c.ok));
    await vault.repo.close();
  });
});
