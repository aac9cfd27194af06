import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { applyRetention, type RetentionPolicy, type RetentionSubject } from './retention.ts';

/** at makes a snapshot at a local wall-clock time, so the tests hold in every time zone. */
function at(
  id: string,
  year: number,
  month: number,
  day: number,
  hour = 12,
  minute = 0,
  tags?: string[],
): RetentionSubject {
  return { id, time: new Date(year, month - 1, day, hour, minute).toISOString(), tags };
}

const ids = (list: RetentionSubject[]) => list.map((s) => s.id);

/** Two snapshots a day (02:00 and 14:00) from 2024-03-01 for `days` days; ids "MM-DD-HH". */
function twiceDaily(days: number): RetentionSubject[] {
  const list: RetentionSubject[] = [];
  for (let d = 0; d < days; d++) {
    for (const hour of [2, 14]) {
      const date = new Date(2024, 2, 1 + d, hour);
      const id = `${String(date.getMonth() + 1).padStart(2, '0')}-${String(date.getDate()).padStart(2, '0')}-${hour}`;
      list.push({ id, time: date.toISOString() });
    }
  }
  return list;
}

describe('applyRetention', () => {
  it('keeps everything under an empty policy', () => {
    const list = twiceDaily(3);
    for (const policy of [{}, { last: 0, daily: 0 }, { tags: [] }] as RetentionPolicy[]) {
      const result = applyRetention(list, policy);
      assert.equal(result.keep.length, list.length);
      assert.deepEqual(result.remove, []);
    }
  });

  it('keeps the n newest with last, newest first', () => {
    const result = applyRetention(twiceDaily(3), { last: 3 });
    assert.deepEqual(ids(result.keep), ['03-03-14', '03-03-2', '03-02-14']);
    assert.deepEqual(ids(result.remove), ['03-02-2', '03-01-14', '03-01-2']);
    assert.deepEqual(result.reasons.get('03-03-14'), ['last snapshot']);
  });

  it('keeps the newest snapshot of each of the n most recent days', () => {
    const result = applyRetention(twiceDaily(10), { daily: 7 });
    assert.deepEqual(ids(result.keep), [
      '03-10-14',
      '03-09-14',
      '03-08-14',
      '03-07-14',
      '03-06-14',
      '03-05-14',
      '03-04-14',
    ]);
    assert.equal(result.remove.length, 13);
  });

  it('counts days that have snapshots, not calendar days', () => {
    const list = [at('a', 2024, 1, 1), at('b', 2024, 1, 20), at('c', 2024, 2, 28), at('d', 2024, 2, 28, 8)];
    assert.deepEqual(ids(applyRetention(list, { daily: 3 }).keep), ['c', 'b', 'a']);
  });

  it('keeps hourly, monthly and yearly buckets', () => {
    const hours = [
      at('h1', 2024, 5, 1, 10, 5),
      at('h2', 2024, 5, 1, 10, 45),
      at('h3', 2024, 5, 1, 11, 0),
      at('h4', 2024, 5, 1, 9, 59),
    ];
    assert.deepEqual(ids(applyRetention(hours, { hourly: 2 }).keep), ['h3', 'h2']);
    const months = [
      at('m1', 2023, 12, 31),
      at('m2', 2024, 1, 1),
      at('m3', 2024, 1, 31),
      at('m4', 2024, 2, 1),
    ];
    assert.deepEqual(ids(applyRetention(months, { monthly: 2 }).keep), ['m4', 'm3']);
    assert.deepEqual(ids(applyRetention(months, { yearly: 5 }).keep), ['m4', 'm1']);
  });

  it('uses ISO weeks: Monday starts a week, and week 1 holds the year’s first Thursday', () => {
    const list = [
      at('sun-2024-12-29', 2024, 12, 29), // 2024-W52
      at('mon-2024-12-30', 2024, 12, 30), // 2025-W01, although still December 2024
      at('wed-2025-01-01', 2025, 1, 1), // 2025-W01
      at('sun-2021-01-03', 2021, 1, 3), // 2020-W53
      at('sat-2021-01-02', 2021, 1, 2), // 2020-W53
      at('mon-2021-01-04', 2021, 1, 4), // 2021-W01
    ];
    assert.deepEqual(ids(applyRetention(list, { weekly: 10 }).keep), [
      'wed-2025-01-01',
      'sun-2024-12-29',
      'mon-2021-01-04',
      'sun-2021-01-03',
    ]);
  });

  it('keeps a snapshot that any rule keeps, with every reason', () => {
    const result = applyRetention(twiceDaily(10), { last: 1, daily: 2, weekly: 2 });
    assert.deepEqual(result.reasons.get('03-10-14'), ['last snapshot', 'daily snapshot', 'weekly snapshot']);
    assert.deepEqual(result.reasons.get('03-09-14'), ['daily snapshot']);
    // 2024-03-10 is a Sunday: the previous ISO week ends on 03-03.
    assert.deepEqual(result.reasons.get('03-03-14'), ['weekly snapshot']);
    assert.equal(result.keep.length, 3);
  });

  it('keeps every bucket for a count of Infinity', () => {
    assert.equal(applyRetention(twiceDaily(10), { daily: Number.POSITIVE_INFINITY }).keep.length, 10);
  });

  it('keeps snapshots that carry a kept tag', () => {
    const list = [
      at('new', 2024, 1, 3),
      at('tagged', 2024, 1, 2, 12, 0, ['release']),
      at('old', 2024, 1, 1, 12, 0, ['x']),
    ];
    const result = applyRetention(list, { last: 1, tags: ['release'] });
    assert.deepEqual(ids(result.keep), ['new', 'tagged']);
    assert.deepEqual(result.reasons.get('tagged'), ['has a kept tag']);
  });

  it('refuses counts that are not whole numbers ≥ 0', () => {
    for (const policy of [{ last: -1 }, { daily: 1.5 }, { weekly: Number.NaN }]) {
      assert.throws(() => applyRetention(twiceDaily(1), policy));
    }
  });

  it('splits any input into keep and remove, independent of input order', () => {
    const snapshot = fc.record({
      id: fc.uuid(),
      time: fc
        .date({ min: new Date(2020, 0, 1), max: new Date(2026, 0, 1), noInvalidDate: true })
        .map((d) => d.toISOString()),
    });
    const count = fc.option(fc.nat(6), { nil: undefined });
    const policy = fc.record({
      last: count,
      hourly: count,
      daily: count,
      weekly: count,
      monthly: count,
      yearly: count,
    });
    fc.assert(
      fc.property(
        fc.uniqueArray(snapshot, { selector: (s) => s.id, maxLength: 60 }),
        policy,
        (list, rules) => {
          const result = applyRetention(list, rules);
          assert.deepEqual(new Set([...ids(result.keep), ...ids(result.remove)]), new Set(ids(list)));
          assert.equal(result.keep.length + result.remove.length, list.length);
          const budget = Object.values(rules).reduce((sum: number, n) => sum + (n ?? 0), 0);
          if (budget > 0) assert.ok(result.keep.length <= budget);
          const newest = [...list].sort(
            (a, b) => Date.parse(b.time) - Date.parse(a.time) || (a.id < b.id ? -1 : 1),
          );
          for (const kept of newest.slice(0, rules.last ?? 0)) assert.ok(result.reasons.has(kept.id));
          assert.deepEqual(ids(applyRetention([...list].reverse(), rules).keep), ids(result.keep));
        },
      ),
      { numRuns: 200 },
    );
  });
});
