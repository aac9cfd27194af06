import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { evaluateConditions, type ServerFacts } from './conditions.ts';
import type { SensorReading } from './sensors/sensors.ts';
import { defaultSettings, type Settings } from './settings.ts';

const reading = fc.record({
  power: fc.record({
    ac: fc.boolean(),
    hasBattery: fc.constant(true),
    batteryPercent: fc.integer({ min: 0, max: 100 }),
  }),
  network: fc.record({
    online: fc.boolean(),
    type: fc.constantFrom('wifi', 'ethernet', 'cellular', 'unknown') as fc.Arbitrary<
      SensorReading['network']['type']
    >,
    metered: fc.constantFrom(true, false, 'unknown') as fc.Arbitrary<boolean | 'unknown'>,
  }),
  session: fc.record({
    graphical: fc.boolean(),
    locked: fc.boolean(),
    idleSeconds: fc.integer({ min: 0, max: 3600 }),
  }),
  source: fc.constant('test'),
  measuredAt: fc.constant(0),
});

const settings = fc
  .record({
    requireAc: fc.boolean(),
    allowBatteryAbovePercent: fc.option(fc.integer({ min: 0, max: 100 })),
    requireUnmetered: fc.boolean(),
    unknownMeteredCountsAs: fc.constantFrom('unmetered', 'metered') as fc.Arbitrary<'unmetered' | 'metered'>,
    requireLockedOrIdle: fc.boolean(),
    idleMinutes: fc.integer({ min: 0, max: 60 }),
    quota: fc.boolean(),
    serviceStatus: fc.boolean(),
  })
  .map(
    (s): Settings => ({
      ...defaultSettings(),
      power: { requireAc: s.requireAc, allowBatteryAbovePercent: s.allowBatteryAbovePercent },
      network: { requireUnmetered: s.requireUnmetered, unknownMeteredCountsAs: s.unknownMeteredCountsAs },
      session: { requireLockedOrIdle: s.requireLockedOrIdle, idleMinutes: s.idleMinutes },
      checks: { quota: s.quota, serviceStatus: s.serviceStatus },
      sources: [{ path: '/home/me/Documents', excludes: [] }],
    }),
  );

const server = fc.record({
  signedIn: fc.boolean(),
  reachable: fc.boolean(),
  quota: fc.record({ usedBytes: fc.integer({ min: 0, max: 10 }), quotaBytes: fc.constant(5) }),
  serviceStatus: fc.constantFrom('operational', 'degraded', 'down', 'maintenance') as fc.Arbitrary<
    ServerFacts['serviceStatus']
  >,
});

describe('evaluateConditions', () => {
  it('is ready exactly when every condition, as the owner set it, holds (property)', () => {
    fc.assert(
      fc.property(settings, reading, server, fc.boolean(), (s, r, f, enabled) => {
        const unknownIsMetered =
          r.network.metered === 'unknown' && s.network.unknownMeteredCountsAs === 'metered';
        const metered = r.network.type === 'cellular' || r.network.metered === true || unknownIsMetered;
        const expected =
          enabled &&
          f.signedIn &&
          r.network.online &&
          (!s.network.requireUnmetered || !metered) &&
          (!r.network.online || f.reachable || !f.signedIn) &&
          (r.power.ac ||
            !s.power.requireAc ||
            (s.power.allowBatteryAbovePercent !== null &&
              r.power.batteryPercent > s.power.allowBatteryAbovePercent)) &&
          (!s.session.requireLockedOrIdle ||
            !r.session.graphical ||
            r.session.locked ||
            r.session.idleSeconds >= s.session.idleMinutes * 60) &&
          (!s.checks.quota || f.quota.usedBytes < f.quota.quotaBytes) &&
          (!s.checks.serviceStatus || f.serviceStatus !== 'down');
        const result = evaluateConditions({
          settings: s,
          settingsProblems: [],
          backupEnabled: enabled,
          reading: r,
          server: f,
        });
        assert.equal(result.ready, expected);
        if (!result.ready) {
          for (const b of result.blockers) assert.ok(b.message.length > 0);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('says why in plain words with the measured values', () => {
    const result = evaluateConditions({
      settings: { ...defaultSettings(), sources: [{ path: '/d', excludes: [] }] },
      settingsProblems: [],
      backupEnabled: true,
      reading: {
        power: { ac: false, hasBattery: true, batteryPercent: 34 },
        network: { online: true, type: 'cellular', metered: 'unknown' },
        session: { graphical: true, locked: false, idleSeconds: 30 },
        source: 'test',
        measuredAt: 0,
      },
      server: {
        signedIn: true,
        reachable: true,
        quota: { usedBytes: 5, quotaBytes: 5 },
        serviceStatus: 'down',
      },
    });
    assert.ok(!result.ready);
    assert.deepEqual(
      result.blockers.map((b) => b.message),
      [
        'metered network (cellular)',
        'on battery (34%)',
        'in use (screen unlocked, idle 0 of 10 min)',
        'storage full',
        'the Cumulus service is down',
      ],
    );
    assert.deepEqual(result.blockers[1].values, { ac: false, batteryPercent: 34 });
  });
});
