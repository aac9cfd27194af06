import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type DeviceGrowth, describeForecast, forecastSpace, rateOf } from './space-forecast.ts';

const DAY = 86_400_000;
const KB = 1000;

/** daily makes 15 daily commits each adding `added` bytes, the logical size growing by `logicalStep` a day. */
function daily(added: number, logicalStep: number, rest: Partial<DeviceGrowth> = {}): DeviceGrowth {
  return {
    samples: Array.from({ length: 15 }, (_, i) => ({
      at: i * DAY,
      addedBytes: added,
      logicalBytes: 1_000 * KB + i * logicalStep,
    })),
    storedBytes: 1_000 * KB,
    logicalBytes: 1_000 * KB,
    retainedDays: 70,
    heldDays: 10,
    ...rest,
  };
}

describe('space forecast', () => {
  it('counts churn only until retention holds its days, and data growth for good', () => {
    const churnOnly = daily(100 * KB, 0);
    // 60 more days of 100 KB churn fit under the policy: at most 6 MB more, ever.
    assert.equal(forecastSpace([churnOnly], 1_000 * KB, 5_000 * KB).daysUntilFull, 40);
    assert.equal(forecastSpace([churnOnly], 1_000 * KB, 8_000 * KB).daysUntilFull, null);
    // Off, every byte stays: 70 days to add 7 MB.
    assert.equal(
      forecastSpace([{ ...churnOnly, retainedDays: null }], 1_000 * KB, 8_000 * KB).daysUntilFull,
      70,
    );
    // Half of what is added is the data growing: that never stops.
    const growing = daily(100 * KB, 50 * KB);
    assert.equal(rateOf(growing)?.dataGrowthPerDay, 50 * KB);
    const late = forecastSpace([growing], 1_000 * KB, 8_000 * KB);
    assert.equal(late.daysUntilFull, 80, '60 days of 100 KB, then 50 KB a day');
    assert.equal(late.warning, false);
  });

  it('warns under 14 days, says full when full, and waits for a second backup', () => {
    const soon = forecastSpace([daily(100 * KB, 0)], 4_500 * KB, 5_000 * KB);
    assert.equal(soon.daysUntilFull, 5);
    assert.equal(soon.warning, true);
    assert.match(describeForecast(soon), /full in about 5 days: free space/);
    assert.equal(describeForecast(forecastSpace([], 5_000 * KB, 5_000 * KB)), 'the plan is full');
    const first = forecastSpace(
      [daily(100 * KB, 0, { samples: [{ at: 0, addedBytes: 900 * KB, logicalBytes: 0 }] })],
      0,
      1,
    );
    assert.equal(first.enoughHistory, false);
    assert.equal(first.daysUntilFull, null);
    assert.match(describeForecast(first), /not enough backups yet/);
    assert.match(describeForecast(forecastSpace([daily(0, 0)], 1, 10)), /does not fill within 10 years/);
  });
});
