import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { progressFigures } from '../core/progress.ts';
import { progressText } from './progress.ts';

const GB = 1_000_000_000;

describe('progress rendering', () => {
  it('formats every size and count, never a raw byte total', () => {
    const text = progressText({
      filesDone: 1_000,
      filesTotal: 78_579,
      bytesDone: 1.2 * GB,
      bytesTotal: 1_210_755_418 * 1.1,
      totalsFinal: true,
      elapsedMs: 10_000,
    });
    assert.equal(text.files, '1000/78579');
    assert.match(text.bytes, /^1\.2 GB \/ 1\.3 GB$/);
    assert.doesNotMatch(`${text.bytes} ${text.rate}`, /\d{4,}/);
    assert.equal(text.percent, '90%');
  });

  it('says the totals are still being counted, with no ETA until they are final', () => {
    const counting = {
      filesDone: 10,
      filesTotal: 500,
      bytesDone: 1_000,
      bytesTotal: 50_000,
      elapsedMs: 1_000,
    };
    const text = progressText({ ...counting, totalsFinal: false });
    assert.equal(text.files, '10/500+');
    assert.equal(text.eta, 'counting');
    assert.equal(progressFigures(counting).etaMs, undefined);
  });

  it('estimates the time left from the average rate once the totals are final', () => {
    const p = {
      filesDone: 1,
      filesTotal: 4,
      bytesDone: GB,
      bytesTotal: 4 * GB,
      totalsFinal: true,
      elapsedMs: 10_000,
    };
    assert.deepEqual(progressFigures(p), { percent: 25, etaMs: 30_000 });
    assert.equal(progressText(p).eta, '30 s');
  });

  it('shows an empty restore or backup as nothing to do, not "0 B / 1"', () => {
    const empty = { filesDone: 0, filesTotal: 0, bytesDone: 0, bytesTotal: 0, elapsedMs: 5 };
    assert.equal(progressText(empty).bytes, '0 B');
    assert.equal(progressText({ ...empty, totalsFinal: true }).percent, '100%');
    assert.equal(progressText(empty).percent, '0%');
  });

  it('never reads more than 100% when the files grew after they were counted', () => {
    const p = {
      filesDone: 5,
      filesTotal: 4,
      bytesDone: 2_000,
      bytesTotal: 1_000,
      totalsFinal: true,
      elapsedMs: 10,
    };
    assert.equal(progressFigures(p).percent, 100);
    assert.equal(progressFigures(p).etaMs, 0);
  });
});
