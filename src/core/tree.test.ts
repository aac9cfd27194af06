import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isCumulusError } from './errors.ts';
import { decodeTree, encodeTree, type TreeEntry } from './tree.ts';

const ID = 'a'.repeat(64);
const file = (name: string, extra: Partial<TreeEntry> = {}): TreeEntry =>
  ({
    name,
    type: 'file',
    mode: 0o644,
    mtimeNs: '1700000000123456789',
    ctimeNs: '1700000000123456789',
    ino: '1234',
    size: 11,
    chunks: [ID],
    ...extra,
  }) as TreeEntry;

const isCorrupt = (error: unknown) => isCumulusError(error, 'corrupt');

/** A name restore can safely create: any Unicode (astral, combining, RTL...) but no '/' or NUL. */
const safeName = fc
  .string({ unit: 'grapheme', minLength: 1, maxLength: 12 })
  .filter((name) => name !== '.' && name !== '..' && !name.includes('/') && !name.includes('\0'));

const hex64 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex'));
const decimal = fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }).map(String);
const plain = { noNullPrototype: true };
const entryFor = (name: string) =>
  fc.oneof(
    fc.record(
      {
        name: fc.constant(name),
        type: fc.constant('file' as const),
        mode: fc.integer({ min: 0, max: 0o7777 }),
        mtimeNs: decimal,
        ctimeNs: decimal,
        ino: fc.bigInt({ min: 0n, max: 2n ** 64n }).map(String),
        size: fc.nat(),
        chunks: fc.array(hex64, { maxLength: 3 }),
      },
      plain,
    ),
    fc.record(
      {
        name: fc.constant(name),
        type: fc.constant('dir' as const),
        mode: fc.integer({ min: 0, max: 0o7777 }),
        mtimeNs: decimal,
        tree: hex64,
      },
      plain,
    ),
    fc.record(
      {
        name: fc.constant(name),
        type: fc.constant('symlink' as const),
        mode: fc.integer({ min: 0, max: 0o7777 }),
        mtimeNs: decimal,
        target: safeName,
      },
      plain,
    ),
  );
const entries = fc
  .uniqueArray(safeName, { maxLength: 12, selector: (name) => name })
  .chain((names) => fc.tuple(...names.map(entryFor)));

const utf8Order = (a: TreeEntry, b: TreeEntry) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name));

describe('encodeTree and decodeTree', () => {
  it('round-trip any directory, with unicode names, in UTF-8 byte order', () => {
    fc.assert(
      fc.property(entries, (list) => {
        const decoded = decodeTree(encodeTree(list));
        assert.deepEqual(decoded, [...list].sort(utf8Order));
      }),
      { numRuns: 300 },
    );
  });

  it('encode one directory to the same bytes whatever the order of entries and fields', () => {
    fc.assert(
      fc.property(entries, (list) => {
        const shuffled = [...list]
          .reverse()
          .map((entry) => Object.fromEntries(Object.entries(entry).reverse()) as unknown as TreeEntry);
        assert.deepEqual(encodeTree(shuffled), encodeTree(list));
      }),
    );
  });

  it('order by UTF-8 bytes, not UTF-16 code units', () => {
    const names = decodeTree(encodeTree([file('\u{1F600}'), file('\uFFFD'), file('Z'), file('a')])).map(
      (e) => e.name,
    );
    assert.deepEqual(names, ['Z', 'a', '\uFFFD', '\u{1F600}']);
  });

  it('refuse to encode duplicate or unsafe names', () => {
    assert.throws(() => encodeTree([file('x'), file('x')]), /duplicate/);
    for (const name of ['', '.', '..', 'a/b', 'nul\0', '\uD800'])
      assert.throws(() => encodeTree([file(name)]));
  });

  it('say corrupt for a name that could escape the restore target', () => {
    for (const name of ['..', '.', '', '../etc', 'a/b', '/abs', 'x\0y', '\uDC00']) {
      const bytes = Buffer.from(JSON.stringify({ v: 1, entries: [file(name)] }));
      assert.throws(() => decodeTree(bytes), isCorrupt, JSON.stringify(name));
    }
  });

  it('say corrupt for unsorted, duplicate, unknown or malformed entries', () => {
    const raw = (entries: unknown[], extra: object = {}) =>
      Buffer.from(JSON.stringify({ v: 1, entries, ...extra }));
    const broken = [
      raw([file('b'), file('a')]),
      raw([file('a'), file('a')]),
      raw([{ ...file('a'), xattrs: {} }]),
      raw([{ ...file('a'), type: 'fifo' }]),
      raw([file('a', { mode: 0o10000 })]),
      raw([file('a', { mode: -1 })]),
      raw([file('a', { mtimeNs: '12.5' })]),
      raw([file('a', { mtimeNs: 1700000000 as unknown as string })]),
      raw([file('a', { ino: '-1' })]),
      raw([file('a', { size: -1 })]),
      raw([file('a', { chunks: ['A'.repeat(64)] })]),
      raw([{ name: 'd', type: 'dir', mode: 0o755, mtimeNs: '0', tree: 'zz' }]),
      raw([{ name: 'l', type: 'symlink', mode: 0o777, mtimeNs: '0', target: '' }]),
      raw([{ name: 'd', type: 'dir', mode: 0o755, mtimeNs: '0' }]),
      raw([], { v: undefined }),
      raw([], { v: 2 }),
      raw([], { extra: true }),
      Buffer.from('{"v":1,"entries":{}}'),
      Buffer.from('not json'),
      Buffer.from([0x7b, 0xff, 0x7d]),
    ];
    for (const bytes of broken) assert.throws(() => decodeTree(bytes), isCorrupt, bytes.toString());
  });

  it('decode the example of docs/format.md', () => {
    const example = {
      v: 1,
      entries: [
        file('a.txt'),
        { name: 'link', type: 'symlink', mode: 511, mtimeNs: '1', target: 'a.txt' },
        { name: 'sub', type: 'dir', mode: 493, mtimeNs: '1', tree: ID },
      ],
    };
    assert.deepEqual(decodeTree(Buffer.from(JSON.stringify(example))), example.entries);
  });
});
