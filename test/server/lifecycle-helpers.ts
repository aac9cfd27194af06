/**
 * Helpers for lifecycle tests: snapshots of small synthetic blobs (the server never opens
 * a blob, so random bytes serve), committed through the real HTTP API at a chosen time.
 */
import { makePack, type TestBlob } from '../../src/store/testing.ts';
import type { TestDevice } from './repository-helpers.ts';

/**
 * commitBlobs uploads a pack of new blobs of the given sizes, then commits a snapshot at
 * `time` referencing them and `reused` (blobs the account holds already); returns the
 * snapshot ID and the new blobs.
 */
export async function commitBlobs(
  device: TestDevice,
  time: number,
  sizes: number[],
  reused: readonly TestBlob[] = [],
): Promise<{ id: string; blobs: TestBlob[] }> {
  const pack = makePack([64, ...sizes]);
  const [snapshot, ...blobs] = pack.blobs;
  await device.vault.repo.putPack(pack.bytes, pack.id);
  const refs = [...blobs, ...reused];
  await device.vault.repo.commitSnapshot({
    id: snapshot.id,
    time: new Date(time).toISOString(),
    sources: [
      {
        id: 'aa',
        tree: refs[0]?.id ?? snapshot.id,
        logicalSize: refs.reduce((sum, b) => sum + b.length, 0),
        refs: refs.map((b) => b.id),
      },
    ],
  });
  return { id: snapshot.id, blobs };
}
