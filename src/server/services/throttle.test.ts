import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isCumulusError } from '../../core/errors.ts';
import { AttemptGuard, Throttle } from './throttle.ts';

function clock() {
  let now = 0;
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

const POLICY = { freeFailures: 2, baseDelayMs: 1000, maxDelayMs: 8000, forgetAfterMs: 60_000 };

describe('Throttle', () => {
  it('lets a few failures pass, then doubles the wait up to a cap', () => {
    const time = clock();
    const throttle = new Throttle(time, POLICY);
    const waits = [];
    for (let i = 0; i < 7; i++) {
      throttle.failed('k');
      waits.push(throttle.waitMs('k'));
    }
    assert.deepEqual(waits, [0, 0, 1000, 2000, 4000, 8000, 8000]);
    time.advance(8000);
    assert.equal(throttle.waitMs('k'), 0);
  });

  it('forgets failures after a quiet period, and on success', () => {
    const time = clock();
    const throttle = new Throttle(time, POLICY);
    for (let i = 0; i < 3; i++) throttle.failed('k');
    time.advance(60_001);
    throttle.failed('k');
    assert.equal(throttle.waitMs('k'), 0, 'counting starts over');
    for (let i = 0; i < 3; i++) throttle.failed('k');
    throttle.succeeded('k');
    assert.equal(throttle.waitMs('k'), 0);
  });
});

describe('AttemptGuard', () => {
  it('blocks by account and by address; success clears the account but not the address', () => {
    const time = clock();
    const guard = new AttemptGuard(time, { account: POLICY, ip: { ...POLICY, freeFailures: 3 } });
    for (let i = 0; i < 3; i++) guard.begin('password', 'ann', '10.0.0.1');
    assert.throws(
      () => guard.begin('password', 'ann', '10.0.0.9'),
      (error: unknown) => isCumulusError(error, 'rate_limited') && error.details?.retryAfterSeconds === 1,
    );
    assert.doesNotThrow(() => guard.begin('code', 'ann', '10.0.0.9'), 'kinds are counted apart');
    time.advance(1000);
    guard.begin('password', 'ann', '10.0.0.9').succeeded();
    assert.doesNotThrow(() => guard.begin('password', 'ann', '10.0.0.9').succeeded());
    guard.begin('password', 'bob', '10.0.0.1');
    assert.throws(
      () => guard.begin('password', 'carl', '10.0.0.1'),
      { code: 'rate_limited' },
      'the address keeps its count',
    );
  });

  it('counts an attempt before its check ends, so attempts in parallel cannot all pass', () => {
    const guard = new AttemptGuard(clock(), { account: POLICY, ip: { ...POLICY, freeFailures: 100 } });
    let started = 0;
    for (let i = 0; i < 10; i++) {
      try {
        guard.begin('password', 'ann', `10.0.0.${i}`);
        started++;
      } catch (error) {
        assert.ok(isCumulusError(error, 'rate_limited'));
      }
    }
    assert.equal(started, POLICY.freeFailures + 1, 'the free failures and the one that starts the wait');
  });

  it('a right secret takes back its own count at the address only', () => {
    const guard = new AttemptGuard(clock(), { account: { ...POLICY, freeFailures: 100 }, ip: POLICY });
    for (let i = 0; i < 10; i++) guard.begin('password', `user${i}`, '10.0.0.1').succeeded();
    assert.doesNotThrow(() => guard.begin('password', 'ann', '10.0.0.1'), 'right secrets cost nothing');
  });

  it('counts an IPv6 address by its /64', () => {
    const guard = new AttemptGuard(clock(), { account: { ...POLICY, freeFailures: 100 }, ip: POLICY });
    for (let i = 1; i <= 3; i++) guard.begin('password', 'ann', `2001:db8:1:2::${i}`);
    assert.throws(() => guard.begin('password', 'ann', '2001:db8:1:2:ffff::9'), { code: 'rate_limited' });
    assert.doesNotThrow(() => guard.begin('password', 'ann', '2001:db8:1:3::1'), 'another /64 is apart');
  });
});
