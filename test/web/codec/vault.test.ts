/**
 * The browser's blob codec (web/src/vault.ts) and the Node core (src/core/keys.ts, seal.ts)
 * pass the same known-answer vectors (test/vectors/blobs.json, sealed once by the core with
 * fixed nonces): the same subkeys, the same blob IDs, and both open the same sealed bytes,
 * zstd-compressed or stored. A flipped byte or a swapped ID fails in both.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deriveSubkeys } from '../../../src/core/keys.ts';
import { blobId, openBlob as coreOpen } from '../../../src/core/seal.ts';
import { decodeTree } from '../../../src/core/tree.ts';
import { blobIdOf, deriveBlobKeys, hexOf, openBlob, unframe } from '../../../web/src/vault.ts';
import vector from '../../vectors/blobs.json' with { type: 'json' };

const bytes = (hex: string) => Buffer.from(hex, 'hex');
const master = bytes(vector.masterKey);

describe('blob codec: browser and core agree', () => {
  it('derive the same subkeys and name plaintexts alike', async () => {
    const core = deriveSubkeys(master, vector.repositoryId);
    assert.equal(core.blobId.toString('hex'), vector.blobIdKey);
    assert.equal(core.encryption.toString('hex'), vector.encryptionKey);
    const web = await deriveBlobKeys(master, vector.repositoryId);
    for (const blob of vector.blobs) {
      assert.equal(blobId(core.blobId, bytes(blob.plaintext)), blob.id);
      assert.equal(await blobIdOf(web, bytes(blob.plaintext)), blob.id);
    }
  });

  it('open the same sealed blobs, compressed and stored, and read the same tree', async () => {
    const core = deriveSubkeys(master, vector.repositoryId);
    const web = await deriveBlobKeys(master, vector.repositoryId);
    assert.ok(
      vector.blobs[0].sealed.length < vector.blobs[0].plaintext.length / 10,
      'the text is compressed',
    );
    for (const blob of vector.blobs) {
      assert.equal(coreOpen(core, blob.id, bytes(blob.sealed)).toString('hex'), blob.plaintext, blob.what);
      assert.equal(hexOf(await openBlob(web, blob.id, bytes(blob.sealed))), blob.plaintext, blob.what);
    }
    const tree = vector.blobs.find((b) => b.what === 'tree')!;
    const entries = decodeTree(await openBlob(web, tree.id, bytes(tree.sealed)));
    assert.deepEqual(
      entries.map((e) => e.name),
      ['letter.txt', 'Ünïcode ✓'],
    );
  });

  it('refuse a flipped byte and a blob presented under another ID, like the core', async () => {
    const core = deriveSubkeys(master, vector.repositoryId);
    const web = await deriveBlobKeys(master, vector.repositoryId);
    const [a, b] = vector.blobs;
    const flipped = bytes(a.sealed);
    flipped[20] ^= 1;
    await assert.rejects(openBlob(web, a.id, flipped), /authentication tag does not match/);
    assert.throws(() => coreOpen(core, a.id, flipped), /authentication tag does not match/);
    await assert.rejects(openBlob(web, b.id, bytes(a.sealed)), /authentication tag does not match/);
  });

  it('read a read-blobs answer: found blobs and the problems named by code', () => {
    const id = vector.blobs[0].id;
    const sealed = bytes(vector.blobs[0].sealed);
    const missing = 'ee'.repeat(32);
    const problem = Buffer.from(JSON.stringify({ reason: 'not there' }));
    const frame = (hexId: string, status: number, payload: Buffer) => {
      const header = Buffer.alloc(37);
      header.write(hexId, 0, 32, 'hex');
      header.writeUInt8(status, 32);
      header.writeUInt32BE(payload.length, 33);
      return Buffer.concat([header, payload]);
    };
    const answer = unframe(Buffer.concat([frame(id, 0, sealed), frame(missing, 1, problem)]));
    assert.equal(hexOf(answer.get(id) as Uint8Array), vector.blobs[0].sealed);
    assert.match(String(answer.get(missing)), /blob eeeeeeee cannot be read \(blob_missing\)/);
    assert.throws(() => unframe(frame(id, 0, sealed).subarray(0, 50)), /cut short/);
  });
});
