import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatBytes } from './units.ts';

describe('formatBytes', () => {
  it('prints decimal units, one decimal below 10', () => {
    assert.deepEqual([0, 999, 5_000, 310_000_000, 1_234_000_000, 50e9, 2e12].map(formatBytes), [
      '0 B',
      '999 B',
      '5.0 kB',
      '310 MB',
      '1.2 GB',
      '50 GB',
      '2.0 TB',
    ]);
  });
});
