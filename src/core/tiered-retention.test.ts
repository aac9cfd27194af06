import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  DEFAULT_POLICY,
  describePolicy,
  keptBound,
  policyProblem,
  type RetentionSnapshot,
  retainedDays,
  selectKept,
  type TieredPolicy,
} from './tiered-retention.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const START = Date.UTC(2030, 0, 1);

/** Snapshots over up to three years, some minutes apart, some years. */
const snapshotsArb = fc
  .array(fc.integer({ min: 0, max: 3 * 365 * DAY }), { minLength: 1, maxLength: 120 })
  .map((offsets) => offsets.map((offset, i) => ({ id: `s${i}`, time: START + offset })));
const policyArb: fc.Arbitrary<TieredPolicy> = fc.oneof(
  fc.constant(DEFAULT_POLICY),
  fc.record({
    allHours: fc.integer({ min: 0, max: 100 }),
    dailyDays: fc.integer({ min: 0, max: 60 }),
    weeklyWeeks: fc.integer({ min: 0, max: 60 }),
    monthlyMonths: fc.integer({ min: 0, max: 40 }),
  }),
);
const laterArb = fc.integer({ min: 0, max: 4 * 365 * DAY });

const ids = (list: readonly RetentionSnapshot[]) => list.map((s) => s.id).sort();

describe('tiered retention', () => {
  it('always keeps the newest snapshot, every pinned one and everything inside the first window', () => {
    fc.assert(
      fc.property(
        snapshotsArb,
        policyArb,
        laterArb,
        fc.array(fc.nat()),
        (snapshots, policy, later, picks) => {
          const now = START + later;
          const pinned = new Set(picks.map((p) => snapshots[p % snapshots.length].id));
          const { keep, remove } = selectKept(snapshots, policy, now, pinned);
          const kept = new Set(ids(keep));
          assert.equal(keep.length + remove.length, snapshots.length);
          const newest = snapshots.toSorted((a, b) => b.time - a.time || (a.id < b.id ? -1 : 1))[0];
          assert.ok(kept.has(newest.id), 'the newest');
          for (const id of pinned) assert.ok(kept.has(id), `pinned ${id}`);
          for (const s of snapshots) if (now - s.time < policy.allHours * HOUR) assert.ok(kept.has(s.id));
        },
      ),
    );
  });

  it('is idempotent, and thinning now then later keeps what thinning once later keeps (nothing comes back)', () => {
    fc.assert(
      fc.property(
        snapshotsArb,
        policyArb,
        laterArb,
        laterArb,
        fc.array(fc.nat()),
        (snapshots, policy, a, b, picks) => {
          const [first, second] = [START + Math.min(a, b), START + Math.max(a, b)];
          const pinned = new Set(picks.map((p) => snapshots[p % snapshots.length].id));
          const once = selectKept(snapshots, policy, first, pinned).keep;
          assert.deepEqual(ids(selectKept(once, policy, first, pinned).keep), ids(once), 'idempotent');
          const twice = selectKept(once, policy, second, pinned).keep;
          assert.deepEqual(
            ids(twice),
            ids(selectKept(snapshots, policy, second, pinned).keep),
            'path independent',
          );
          const dropped = new Set(ids(selectKept(snapshots, policy, first, pinned).remove));
          for (const s of selectKept(snapshots, policy, second, pinned).keep) assert.ok(!dropped.has(s.id));
        },
      ),
    );
  });

  it('keeps at most keptBound snapshots, whatever their number', () => {
    fc.assert(
      fc.property(snapshotsArb, policyArb, laterArb, (snapshots, policy, later) => {
        const now = START + later;
        const recent = snapshots.filter((s) => now - s.time < policy.allHours * HOUR).length;
        assert.ok(selectKept(snapshots, policy, now).keep.length <= keptBound(policy, recent));
      }),
    );
  });

  it('keeps a year of hourly backups under the default policy to the expected tiers', () => {
    const snapshots: RetentionSnapshot[] = [];
    for (let t = START; t < START + 365 * DAY; t += HOUR) snapshots.push({ id: String(t), time: t });
    const now = START + 365 * DAY;
    const { keep } = selectKept(snapshots, DEFAULT_POLICY, now);
    const ages = keep.map((s) => now - s.time);
    // The newest is an hour old: 47 of the last 48 hours, then one a day (28 or 29 days, by the cut).
    assert.equal(ages.filter((age) => age < 48 * HOUR).length, 47);
    const dailies = ages.filter((age) => age >= 48 * HOUR && age < 30 * DAY).length;
    assert.ok(dailies >= 28 && dailies <= 29, `${dailies} dailies`);
    assert.ok(keep.length <= keptBound(DEFAULT_POLICY, 48));
    assert.ok(keep.length > 48 + 28 + 20, `${keep.length} kept`);
  });

  it('refuses a window that is not a whole number within its limit', () => {
    assert.equal(policyProblem(DEFAULT_POLICY), undefined);
    assert.match(
      policyProblem({ ...DEFAULT_POLICY, dailyDays: 1.5 }) ?? '',
      /dailyDays must be a whole number/,
    );
    assert.match(policyProblem({ ...DEFAULT_POLICY, monthlyMonths: -1 }) ?? '', /monthlyMonths/);
    assert.throws(() => selectKept([], { ...DEFAULT_POLICY, allHours: Number.NaN }, START), /allHours/);
  });

  it('says a policy in words, and how many days of changes it keeps', () => {
    assert.equal(
      describePolicy(DEFAULT_POLICY),
      'every snapshot of the last 48 hours, one a day for 30 days, one a week for 26 weeks, one a month for 24 months, the newest always',
    );
    assert.equal(describePolicy(null), 'off: every snapshot is kept');
    const days = retainedDays(DEFAULT_POLICY);
    assert.ok(days > 65 && days < 75, `${days}`);
  });
});
