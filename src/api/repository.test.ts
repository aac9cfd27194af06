import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { BLOB_PROBLEMS, type BlobRead } from '../core/blob-read.ts';
import { isCumulusError } from '../core/errors.ts';
import { blobFrame, unframeBlobs } from './repository.ts';

const hexId = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex'));
const blobRead: fc.Arbitrary<BlobRead> = fc.oneof(
  fc.uint8Array({ maxLength: 300 }).map((b): BlobRead => ({ ok: true, bytes: Buffer.from(b) })),
  fc
    .record({ code: fc.constantFrom(...BLOB_PROBLEMS), reason: fc.string(), packId: hexId })
    .map((p): BlobRead => ({ ok: false, ...p })),
  fc
    .record({ code: fc.constantFrom(...BLOB_PROBLEMS), reason: fc.string() })
    .map((p): BlobRead => ({ ok: false, ...p })),
);
const answers = fc.uniqueArray(fc.tuple(hexId, blobRead), { selector: ([id]) => id, maxLength: 20 });

function frame(entries: [string, BlobRead][]): Buffer {
  return Buffer.concat(entries.flatMap(([id, read]) => blobFrame(id, read)));
}

test('a read-blobs answer decodes to the reads it was framed from', () => {
  fc.assert(
    fc.property(answers, (entries) => {
      assert.deepEqual(unframeBlobs(frame(entries)), new Map(entries));
    }),
  );
});

test('an answer cut short anywhere is a network error, never a shorter answer', () => {
  fc.assert(
    fc.property(
      answers.filter((e) => e.length > 0),
      fc.nat(),
      (entries, cut) => {
        const framed = frame(entries);
        const at = cut % framed.length;
        // Cutting exactly between two entries is a shorter, valid answer: the client asks again for the rest.
        const boundaries = new Set<number>([0]);
        let end = 0;
        for (const [id, read] of entries) {
          end += Buffer.concat(blobFrame(id, read)).length;
          boundaries.add(end);
        }
        if (boundaries.has(at)) return;
        assert.throws(
          () => unframeBlobs(framed.subarray(0, at)),
          (e) => isCumulusError(e, 'network'),
        );
      },
    ),
  );
});

test('an unknown status byte asks for an update instead of being misread', () => {
  const [header, payload] = blobFrame('ab'.repeat(32), { ok: false, code: 'pack_missing', reason: 'gone' });
  header[32] = 200;
  assert.throws(
    () => unframeBlobs(Buffer.concat([header, payload])),
    (e) => isCumulusError(e, 'update_required'),
  );
});
