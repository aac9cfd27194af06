import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatSize, parseSize } from './units.ts';

test('parseSize reads binary multiples and plain byte counts, formatSize writes them back', () => {
  assert.equal(parseSize('512K'), 524288);
  assert.equal(parseSize('1M'), 1048576);
  assert.equal(parseSize('8MiB'), 8 * 2 ** 20);
  assert.equal(parseSize('5G'), 5 * 2 ** 30);
  assert.equal(parseSize('4096'), 4096);
  for (const text of ['512K', '1M', '8M', '5G', '1.5G']) assert.equal(formatSize(parseSize(text)), text);
});

test('parseSize refuses what is not a size', () => {
  assert.throws(() => parseSize('lots'), /not a size/);
  assert.throws(() => parseSize('-1M'), /not a size/);
});
