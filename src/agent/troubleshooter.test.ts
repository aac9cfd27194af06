import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DoctorResult } from '../api/devices.ts';
import { FakeClock } from './clock.ts';
import type { DoctorReport } from './doctor/doctor.ts';
import { doctorResult, TROUBLESHOOTER_EVERY_MS, Troubleshooter } from './troubleshooter.ts';

const DEVICE = 'a'.repeat(32);

function report(evidence: string[]): DoctorReport {
  return {
    ok: false,
    fixes: [],
    checks: [
      {
        id: 'power',
        title: 'Power',
        status: 'fail',
        evidence,
        fix: ['Plug the device in.'],
        autoFix: { description: 'allow backups on battery', changesSettings: true, apply: async () => [] },
      },
      { id: 'storage', title: 'Storage', status: 'skip', evidence: [], blockedBy: 'network' },
    ],
  };
}

test('a doctor result keeps every check, its evidence, steps and fix, bounded line by line', () => {
  const result = doctorResult(
    report(['on battery (34%)', 'x'.repeat(1_000), ...Array(20).fill('more')]),
    DEVICE,
    0,
  );
  assert.equal(result.deviceId, DEVICE);
  assert.equal(result.at, '1970-01-01T00:00:00.000Z');
  assert.deepEqual(
    result.checks.map((c) => [c.id, c.status, c.blockedBy, c.autoFix, c.fix]),
    [
      ['power', 'fail', undefined, 'allow backups on battery', ['Plug the device in.']],
      ['storage', 'skip', 'network', undefined, undefined],
    ],
  );
  const evidence = result.checks[0]!.evidence;
  assert.equal(evidence[0], 'on battery (34%)');
  assert.ok(evidence[1]!.length <= 400 && evidence[1]!.endsWith('…'));
  assert.equal(evidence.length, 9);
  assert.match(evidence.at(-1)!, /^… 14 more line\(s\)/);
});

test('the troubleshooter runs the doctor once per interval and shares the result as this device', async () => {
  const clock = new FakeClock(1_000_000);
  const shared: DoctorResult[] = [];
  let runs = 0;
  const troubleshooter = new Troubleshooter(
    async () => {
      runs++;
      return report(['on battery (34%)']);
    },
    {
      clock,
      deviceState: {
        read: async () => ({
          serverUrl: 'x',
          deviceId: DEVICE,
          deviceName: 'laptop',
          accountKeyPresent: true,
        }),
      },
      server: { shareDoctorResult: async (result) => void shared.push(result) },
    },
  );
  troubleshooter.request();
  troubleshooter.request();
  await troubleshooter.idle();
  assert.equal(runs, 1);
  assert.equal(shared[0]?.deviceId, DEVICE);
  assert.equal(shared[0]?.at, new Date(1_000_000).toISOString());
  await clock.advance(TROUBLESHOOTER_EVERY_MS - 1);
  troubleshooter.request();
  await troubleshooter.idle();
  assert.equal(runs, 1, 'not again within the interval');
  await clock.advance(1);
  troubleshooter.request();
  await troubleshooter.idle();
  assert.equal(runs, 2);
});
