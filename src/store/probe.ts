/** roundTrip is a BlobStore's live probe: write a small object, read it back, delete it. */
import { randomBytes } from 'node:crypto';
import { CumulusError } from '../core/errors.ts';
import type { BlobStore } from './types.ts';

/** roundTrip throws when the write, the read or the delete fails, or the bytes differ; `where` names the storage. */
export async function roundTrip(
  store: Pick<BlobStore, 'put' | 'get' | 'delete'>,
  where: string,
): Promise<void> {
  // Directly under the store's root, not in a folder of probes: on storage that keeps keys
  // as folders (s3rver, a folder store), one replica's delete of the last probe would
  // remove the folder another replica is writing its probe into.
  const name = `probe-${randomBytes(8).toString('hex')}`;
  const data = randomBytes(64);
  await store.put(name, data);
  try {
    if (!(await store.get(name)).equals(data))
      throw new CumulusError('corrupt', `${where} returned different bytes than written`);
  } finally {
    await store.delete(name);
  }
}
