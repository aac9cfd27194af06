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
    for (let i = 0; i < 3; i++) guard.failed('password', 'ann', '10.0.0.1');
    assert.throws(
      () => guard.check('password', 'ann', '10.0.0.9'),
      (error: unknown) => isCumulusError(error, 'rate_limited') && error.details?.retryAfterSeconds === 1,
    );
    assert.doesNotThrow(() => guard.check('code', 'ann', '10.0.0.9'), 'kinds are counted apart');
    guard.succeeded('password', 'ann');
    assert.doesNotThrow(() => guard.check('password', 'ann', '10.0.0.9'));
    guard.failed('password', 'bob', '10.0.0.1');
    assert.throws(
      () => guard.check('password', 'carl', '10.0.0.1'),
      { code: 'rate_limited' },
      'the address keeps its count',
    );
  });
});
