import assert from 'node:assert/strict';
import { createCipheriv } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  type ChunkerParams,
  cutPoint,
  DEFAULT_CHUNKER,
  gearFromBytes,
  gearFromSeed,
  validateChunkerParams,
} from './chunker.ts';
import { isCumulusError } from './errors.ts';

/** deterministicBytes is an AES-256-CTR keystream under a zero key: the same bytes on every machine. */
function deterministicBytes(length: number, seed = 0): Uint8Array {
  const key = Buffer.alloc(32, seed);
  return new Uint8Array(createCipheriv('aes-256-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(length)));
}

const SMALL: ChunkerParams = { min: 16 * 1024, avg: 64 * 1024, max: 256 * 1024 };
const TINY: ChunkerParams = { min: 64, avg: 256, max: 1024 };
const gear = gearFromSeed(Buffer.from('cumulus chunker test'));

/** referenceCut is docs/format.md's chunking read literally, byte by byte, for comparison. */
function referenceCut(
  table: Uint32Array,
  params: ChunkerParams,
  data: Uint8Array,
  start: number,
  end: number,
): number {
  if (end - start <= params.min) return end;
  const bits = Math.log2(params.avg);
  const maskOf = (n: number) => (0xffffffff << (32 - n)) >>> 0;
  let h = 0;
  for (let i = start + params.min; i < Math.min(end, start + params.max); i++) {
    h = ((h << 1) + table[data[i]]) >>> 0;
    const mask = i - start < params.avg ? maskOf(bits + 2) : maskOf(bits - 2);
    if ((h & mask) >>> 0 === 0) return i + 1;
  }
  return Math.min(end, start + params.max);
}

/** chunkWhole returns the chunk ends of a buffer held whole in memory. */
function chunkWhole(params: ChunkerParams, data: Uint8Array): number[] {
  const ends: number[] = [];
  for (let start = 0; start < data.length; ) {
    start = cutPoint(gear, params, data, start, data.length);
    ends.push(start);
  }
  return ends;
}

/**
 * chunkStreamed feeds `data` in pieces cut at `splits`, keeping only a window buffered,
 * the way a file reader does: cut when at least `max` bytes are buffered or at the end.
 * Returns the chunk ends as offsets in the whole input and the chunks' bytes.
 */
function chunkStreamed(params: ChunkerParams, data: Uint8Array, splits: number[]) {
  const pieces = [...new Set([0, ...splits.map((s) => s % (data.length + 1)), data.length])].sort(
    (a, b) => a - b,
  );
  const ends: number[] = [];
  const chunks: Uint8Array[] = [];
  let buffer = new Uint8Array(0);
  let consumed = 0;
  for (let p = 1; p < pieces.length; p++) {
    const joined = new Uint8Array(buffer.length + pieces[p] - pieces[p - 1]);
    joined.set(buffer);
    joined.set(data.subarray(pieces[p - 1], pieces[p]), buffer.length);
    buffer = joined;
    const atEnd = p === pieces.length - 1;
    let start = 0;
    while (start < buffer.length && (atEnd || buffer.length - start >= params.max)) {
      const end = cutPoint(gear, params, buffer, start, buffer.length);
      chunks.push(buffer.slice(start, end));
      ends.push(consumed + end);
      start = end;
    }
    buffer = buffer.slice(start);
    consumed += start;
  }
  return { ends, chunks };
}

describe('cutPoint', () => {
  it('cuts a fixed 8 MiB input at the same known boundaries on every machine', () => {
    const data = deterministicBytes(8 * 1024 * 1024);
    const ends = chunkWhole(SMALL, data);
    // Computed once with this implementation, then checked: every chunk within min..max,
    // mean size near avg (see the next test). A change here changes every repository.
    assert.deepEqual(ends, EXPECTED_ENDS);
  });

  it('keeps every chunk of the known-answer input within min..max with a mean near avg', () => {
    const ends = chunkWhole(SMALL, deterministicBytes(8 * 1024 * 1024));
    const sizes = ends.map((end, i) => end - (i === 0 ? 0 : ends[i - 1]));
    for (const size of sizes.slice(0, -1))
      assert.ok(size > SMALL.min && size <= SMALL.max, `chunk of ${size} bytes`);
    const mean = (8 * 1024 * 1024) / sizes.length;
    assert.ok(mean > SMALL.avg * 0.75 && mean < SMALL.avg * 1.5, `mean chunk size ${mean}`);
  });

  it('agrees with a byte-by-byte reading of the format for any data and bounds', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 5000, size: 'max' }), fc.nat(4), (data, shift) => {
        const params = { min: 64 << (shift >> 1), avg: 256 << shift, max: 1024 << shift };
        for (let start = 0; start < data.length; ) {
          const expected = referenceCut(gear, params, data, start, data.length);
          assert.equal(cutPoint(gear, params, data, start, data.length), expected);
          start = expected;
        }
      }),
      { numRuns: 200 },
    );
  });

  it('finds the same boundaries however the input is split into reads', () => {
    const data = deterministicBytes(64 * 1024, 7);
    const whole = chunkWhole(TINY, data);
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 40, size: 'max' }), (splits) => {
        const streamed = chunkStreamed(TINY, data, splits);
        assert.deepEqual(streamed.ends, whole);
        assert.deepEqual(Buffer.concat(streamed.chunks), Buffer.from(data));
      }),
      { numRuns: 100 },
    );
  });

  it('returns the end of short input and never cuts past max', () => {
    const data = deterministicBytes(4096);
    assert.equal(cutPoint(gear, TINY, data, 0, 0), 0);
    assert.equal(cutPoint(gear, TINY, data, 10, 10 + TINY.min), 10 + TINY.min);
    const zeros = new Uint8Array(10_000);
    // A run of one byte value either always matches or never does: the max cut must hold.
    assert.ok(cutPoint(gear, TINY, zeros, 0, zeros.length) <= TINY.max);
  });

  it('realigns on the same boundaries after an insertion near the start', () => {
    const data = deterministicBytes(256 * 1024, 3);
    const inserted = Buffer.concat([Buffer.from('a few new bytes'), data]);
    const before = new Set(chunkWhole(TINY, data).map((end) => end + 15));
    const after = chunkWhole(TINY, inserted);
    const shared = after.filter((end) => before.has(end)).length;
    assert.ok(shared >= after.length * 0.95, `only ${shared} of ${after.length} boundaries realigned`);
  });

  it('depends on the gear table, so boundaries reveal nothing without the key', () => {
    const data = deterministicBytes(256 * 1024, 5);
    const other = gearFromSeed(Buffer.from('another repository'));
    const ends = chunkWhole(TINY, data);
    const otherEnds: number[] = [];
    for (let start = 0; start < data.length; ) {
      start = cutPoint(other, TINY, data, start, data.length);
      otherEnds.push(start);
    }
    assert.notDeepEqual(otherEnds, ends);
  });
});

describe('gear tables', () => {
  it('reads 1024 bytes as 256 little-endian uint32', () => {
    const bytes = new Uint8Array(1024);
    bytes.set([0x01, 0x02, 0x03, 0x04], 4);
    const table = gearFromBytes(bytes);
    assert.equal(table.length, 256);
    assert.equal(table[1], 0x04030201);
  });

  it('expands a seed deterministically', () => {
    assert.deepEqual(gearFromSeed(Buffer.from('x')), gearFromSeed(Buffer.from('x')));
    assert.notDeepEqual(gearFromSeed(Buffer.from('x')), gearFromSeed(Buffer.from('y')));
  });
});

describe('validateChunkerParams', () => {
  it('accepts the default and the sizes other tools use', () => {
    validateChunkerParams(DEFAULT_CHUNKER);
    validateChunkerParams({ min: 2 << 20, avg: 4 << 20, max: 8 << 20 });
  });

  it('refuses sizes the chunker cannot honour', () => {
    for (const params of [
      { min: 512, avg: 1000, max: 4096 },
      { min: 1024, avg: 1024, max: 4096 },
      { min: 1024, avg: 2048, max: 2048 },
      { min: 8, avg: 256, max: 1024 },
      { min: 1.5, avg: 2048, max: 4096 },
      { min: 1 << 20, avg: 1 << 29, max: 1 << 30 },
    ]) {
      assert.throws(
        () => validateChunkerParams(params),
        (error) => isCumulusError(error, 'invalid_input'),
      );
    }
  });
});

/** EXPECTED_ENDS: 107 chunks of 30,704 to 142,860 bytes, mean 78,398 (min 16 KiB + the normalized tail). */
const EXPECTED_ENDS = [
  65606, 96310, 167848, 209972, 284881, 359100, 435346, 517095, 599975, 670395, 737759, 880619, 924914,
  995720, 1098320, 1150385, 1259806, 1348410, 1424749, 1497108, 1571519, 1654858, 1714236, 1781422, 1922437,
  1997914, 2088577, 2124172, 2199794, 2271801, 2340715, 2429856, 2498230, 2575576, 2651762, 2717912, 2788580,
  2860890, 2905232, 2970858, 3046767, 3144543, 3220489, 3297277, 3364645, 3432610, 3526653, 3629192, 3698817,
  3764732, 3873524, 3966896, 4033100, 4100239, 4170241, 4238491, 4325433, 4398538, 4501804, 4606244, 4674360,
  4754530, 4857252, 4931600, 5000916, 5066808, 5167020, 5251477, 5345792, 5422780, 5490457, 5559993, 5669481,
  5739663, 5837138, 5907896, 5978212, 6056145, 6124080, 6216590, 6271662, 6338677, 6448536, 6499045, 6567689,
  6704380, 6791837, 6888744, 6952934, 7032105, 7126453, 7223043, 7299373, 7367175, 7441439, 7522077, 7610947,
  7687148, 7767581, 7876861, 7944639, 8001848, 8084007, 8191006, 8270768, 8354820, 8388608,
];
