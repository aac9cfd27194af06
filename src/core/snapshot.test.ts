import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isCumulusError } from './errors.ts';
import { decodeSnapshot, encodeSnapshot, type SnapshotInfo } from './snapshot.ts';

const example: SnapshotInfo = {
  v: 1,
  time: '2024-05-01T02:00:00.000Z',
  host: 'laptop',
  user: 'me',
  tags: ['nightly'],
  parent: null,
  sources: [{ id: '0'.repeat(32), path: '/home/me/Documents', tree: 'a'.repeat(64) }],
  summary: {
    filesNew: 1,
    filesChanged: 2,
    filesUnchanged: 3,
    dirs: 4,
    bytesRead: 5,
    bytesAdded: 6,
    logicalBytes: 7,
    durationMs: 8,
  },
};

const plain = { noNullPrototype: true };
const hex = (bytes: number) =>
  fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((b) => Buffer.from(b).toString('hex'));
const text = fc.string({ unit: 'grapheme', maxLength: 20 }).filter((s) => !s.includes('\0'));
const snapshots: fc.Arbitrary<SnapshotInfo> = fc.record(
  {
    v: fc.constant(1 as const),
    time: fc.date({ min: new Date(0), max: new Date(4e12), noInvalidDate: true }).map((d) => d.toISOString()),
    host: text,
    user: text,
    tags: fc.array(text, { maxLength: 3 }),
    parent: fc.option(hex(32), { nil: null }),
    sources: fc.uniqueArray(
      fc.record({ id: hex(16), path: text.filter((s) => s !== ''), tree: hex(32) }, plain),
      { maxLength: 4, selector: (s) => s.id },
    ),
    summary: fc.record(
      {
        filesNew: fc.nat(),
        filesChanged: fc.nat(),
        filesUnchanged: fc.nat(),
        dirs: fc.nat(),
        bytesRead: fc.maxSafeNat(),
        bytesAdded: fc.maxSafeNat(),
        logicalBytes: fc.maxSafeNat(),
        durationMs: fc.nat(),
      },
      plain,
    ),
  },
  plain,
);

const isCorrupt = (error: unknown) => isCumulusError(error, 'corrupt');

describe('encodeSnapshot and decodeSnapshot', () => {
  it('round-trip any snapshot, with unicode hosts, users, tags and paths', () => {
    fc.assert(
      fc.property(snapshots, (info) => {
        assert.deepEqual(decodeSnapshot(encodeSnapshot(info)), info);
      }),
      { numRuns: 300 },
    );
  });

  it('encode the same snapshot to the same bytes whatever the field order', () => {
    const reordered = Object.fromEntries(Object.entries(example).reverse()) as unknown as SnapshotInfo;
    assert.deepEqual(encodeSnapshot(reordered), encodeSnapshot(example));
  });

  it('refuse to encode an invalid snapshot', () => {
    assert.throws(() => encodeSnapshot({ ...example, time: 'now' }));
  });

  it('say corrupt for any missing, extra or malformed field', () => {
    const { summary, sources } = example;
    const variants: unknown[] = [
      { ...example, v: 2 },
      { ...example, extra: 1 },
      { ...example, time: '2024-13-45T99:00:00Z' },
      { ...example, host: 7 },
      { ...example, tags: 'nightly' },
      { ...example, tags: ['\uD800'] },
      { ...example, parent: 'abc' },
      { ...example, parent: undefined },
      { ...example, sources: {} },
      { ...example, sources: [{ ...sources[0], id: 'a'.repeat(64) }] },
      { ...example, sources: [{ ...sources[0], tree: 'x' }] },
      { ...example, sources: [{ ...sources[0], path: '' }] },
      { ...example, sources: [sources[0], sources[0]] },
      { ...example, summary: { ...summary, dirs: -1 } },
      { ...example, summary: { ...summary, bytesRead: 1.5 } },
      { ...example, summary: { ...summary, speed: 1 } },
    ];
    for (const variant of variants) {
      const bytes = Buffer.from(JSON.stringify(variant));
      assert.throws(() => decodeSnapshot(bytes), isCorrupt, bytes.toString());
    }
    assert.throws(() => decodeSnapshot(Buffer.from([0xc3, 0x28])), isCorrupt);
  });
});
