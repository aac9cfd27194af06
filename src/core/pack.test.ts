import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isCumulusError } from './errors.ts';
import {
  BLOB_TYPES,
  PACK_TAIL_SIZE,
  PackBuilder,
  packId,
  packTableLength,
  parsePack,
  parsePackTable,
} from './pack.ts';

const isCorrupt = (error: unknown) => isCumulusError(error, 'corrupt');

const blobs = fc.array(
  fc.record({
    type: fc.constantFrom(...BLOB_TYPES),
    id: fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex')),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 300 }),
  }),
  { maxLength: 20 },
);

function build(list: { type: (typeof BLOB_TYPES)[number]; id: string; bytes: Uint8Array }[]) {
  const builder = new PackBuilder();
  for (const blob of list) builder.add(blob.type, blob.id, blob.bytes);
  return { size: builder.size, ...builder.finish() };
}

describe('pack files', () => {
  it('list every blob with the offset where its bytes are, named by their SHA-256', () => {
    fc.assert(
      fc.property(blobs, (list) => {
        const pack = build(list);
        assert.equal(pack.bytes.length, pack.size);
        assert.equal(pack.id, packId(pack.bytes));
        const entries = parsePack(pack.bytes);
        assert.deepEqual(entries, pack.entries);
        entries.forEach((entry, i) => {
          assert.equal(entry.type, list[i].type);
          assert.equal(entry.id, list[i].id);
          assert.deepEqual(
            pack.bytes.subarray(entry.offset, entry.offset + entry.length),
            Buffer.from(list[i].bytes),
          );
        });
      }),
    );
  });

  it('come out the same built in place in any memory, which is used while the pack fits', () => {
    fc.assert(
      fc.property(blobs, fc.integer({ min: 0, max: 2000 }), (list, capacity) => {
        const memory = Buffer.alloc(capacity);
        const builder = new PackBuilder(memory);
        let fits = true;
        for (const blob of list) {
          fits &&= builder.sizeWith(blob.bytes.length) <= capacity;
          assert.equal(builder.sizeWith(blob.bytes.length), builder.size + blob.bytes.length + 37);
          builder.add(blob.type, blob.id, blob.bytes);
        }
        const pack = builder.finish();
        const { size: _, ...expected } = build(list);
        assert.deepEqual(pack, expected);
        assert.equal(pack.bytes.buffer === memory.buffer, fits && capacity >= build([]).size);
      }),
    );
  });

  it('read the table from the end of the pack alone, as a store reads a large pack', () => {
    const pack = build([
      { type: 'data', id: 'a'.repeat(64), bytes: randomBytes(1000) },
      { type: 'tree', id: 'b'.repeat(64), bytes: randomBytes(10) },
    ]);
    const tableLength = packTableLength(pack.bytes.subarray(pack.bytes.length - PACK_TAIL_SIZE));
    const table = pack.bytes.subarray(pack.bytes.length - tableLength);
    assert.deepEqual(parsePackTable(table, pack.bytes.length), pack.entries);
  });

  it('say corrupt when the header, the table or the trailer is damaged', () => {
    const pack = build([
      { type: 'data', id: 'a'.repeat(64), bytes: randomBytes(100) },
      { type: 'snapshot', id: 'c'.repeat(64), bytes: randomBytes(50) },
    ]).bytes;
    const tableStart = pack.length - PACK_TAIL_SIZE - 2 * 37;
    const flips = [0, 8, tableStart, tableStart + 1, pack.length - PACK_TAIL_SIZE, pack.length - 1];
    for (const at of flips) {
      const damaged = Buffer.from(pack);
      damaged[at] ^= 0x40;
      assert.throws(() => parsePack(damaged), isCorrupt, `flipping byte ${at}`);
    }
    assert.throws(() => parsePack(pack.subarray(0, pack.length - 1)), isCorrupt);
    assert.throws(() => parsePack(pack.subarray(1)), isCorrupt);
    assert.throws(() => parsePack(Buffer.alloc(10)), isCorrupt);
  });

  it('change the pack id when any byte changes', () => {
    const pack = build([{ type: 'data', id: 'a'.repeat(64), bytes: randomBytes(64) }]);
    const damaged = Buffer.from(pack.bytes);
    damaged[20] ^= 1;
    assert.notEqual(packId(damaged), pack.id);
  });
});
