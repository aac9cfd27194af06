import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { decodeRefset, encodeRefset, refsetHash, sortedUniqueRows } from './refset.ts';

const rowLists = fc.array(fc.oneof(fc.nat(300), fc.nat(), fc.maxSafeNat()), { maxLength: 200 });

test('a refset decodes to the sorted, deduplicated rows it was made from', () => {
  fc.assert(
    fc.property(rowLists, (rows) => {
      const expected = [...new Set(rows)].sort((a, b) => a - b);
      assert.deepEqual(sortedUniqueRows(rows), expected);
      assert.deepEqual(decodeRefset(encodeRefset(expected)), expected);
    }),
  );
});

test('equal sets encode to equal bytes and hashes, different sets differ', () => {
  fc.assert(
    fc.property(rowLists, rowLists, (a, b) => {
      const ea = encodeRefset(sortedUniqueRows(a));
      const eb = encodeRefset(sortedUniqueRows(b));
      const same = sortedUniqueRows(a).join() === sortedUniqueRows(b).join();
      assert.equal(ea.equals(eb), same);
      assert.equal(refsetHash(ea).equals(refsetHash(eb)), same);
    }),
  );
});

test('dense rows cost about one byte each', () => {
  const rows = Array.from({ length: 10_000 }, (_, i) => 1_000_000 + i * 3);
  assert.ok(encodeRefset(rows).length < 10_010);
});

test('unsorted input and truncated data are refused', () => {
  assert.throws(() => encodeRefset([3, 2]));
  assert.throws(() => encodeRefset([1, 1]));
  assert.throws(() => decodeRefset(Buffer.from([0x80])));
});
