import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isCumulusError } from '../../core/errors.ts';
import { FakeClock, systemClock } from '../clock.ts';
import { parseProfile, SimulatedSensors } from './simulated.ts';
import { SystemSensors } from './system.ts';

describe('SystemSensors on this machine', () => {
  it('returns a valid reading: power, network and session, each known or honestly unknown', async () => {
    const started = Date.now();
    const reading = await new SystemSensors(systemClock, {
      ...process.env,
      DISPLAY: '',
      WAYLAND_DISPLAY: '',
    }).read();
    assert.ok(Date.now() - started < 10_000, 'every probe has a timeout');
    assert.equal(reading.source, 'system');
    assert.equal(typeof reading.power.ac, 'boolean');
    assert.equal(typeof reading.power.hasBattery, 'boolean');
    if (!reading.power.hasBattery) assert.equal(reading.power.ac, true, 'no battery means mains power');
    assert.ok(['wifi', 'ethernet', 'cellular', 'none', 'unknown'].includes(reading.network.type));
    assert.ok([true, false, 'unknown'].includes(reading.network.metered));
    assert.equal(typeof reading.session.graphical, 'boolean');
    // This build machine: a server with no battery, wired or unknown network, no desktop.
    if (process.env.CI || !process.env.DISPLAY) {
      assert.equal(reading.session.graphical, false);
    }
  });
});

describe('SimulatedSensors', () => {
  it('accepts the documented minimum profile and re-reads it on every reading', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cumulus-sensors-'));
    try {
      const path = join(dir, 'profile.json');
      const sensors = new SimulatedSensors(path, new FakeClock(1000));
      await writeFile(
        path,
        JSON.stringify({
          power: { ac: true, batteryPercent: 80 },
          network: { online: true, type: 'wifi', metered: false, wifiSignalPercent: 70 },
          session: { locked: true, idleSeconds: 600 },
        }),
      );
      assert.deepEqual(await sensors.read(), {
        power: { ac: true, hasBattery: true, batteryPercent: 80 },
        network: { online: true, type: 'wifi', metered: false, wifiSignalPercent: 70 },
        session: { graphical: true, locked: true, idleSeconds: 600 },
        source: path,
        measuredAt: 1000,
      });
      await writeFile(path, JSON.stringify({ power: { ac: false, batteryPercent: 34 } }));
      const flipped = await sensors.read();
      assert.deepEqual(flipped.power, { ac: false, hasBattery: true, batteryPercent: 34 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('fills sensible defaults: an empty profile is a plugged-in desktop on unmetered Ethernet without a session', () => {
    assert.deepEqual(parseProfile({}), {
      power: { ac: true, hasBattery: false },
      network: { online: true, type: 'ethernet', metered: false },
      session: { graphical: false },
    });
    assert.equal(parseProfile({ network: { type: 'cellular' } }).network.metered, true);
    assert.equal(parseProfile({ network: { type: 'none' } }).network.online, false);
  });

  it('names the bad field of a bad profile', async () => {
    const cases: [unknown, RegExp][] = [
      [{ power: { ac: 'yes' } }, /power.ac must be true or false/],
      [
        { network: { type: 'satellite' } },
        /network.type must be one of wifi, ethernet, cellular, none, unknown/,
      ],
      [{ power: { batteryPercent: 140 } }, /power.batteryPercent must be between 0 and 100/],
      [{ network: { metered: 'maybe' } }, /network.metered must be true, false or "unknown"/],
      [{ sesion: {} }, /unknown field sesion/],
      [[], /the profile must be a JSON object/],
    ];
    for (const [profile, message] of cases) {
      assert.throws(
        () => parseProfile(profile, 'p.json'),
        (error) =>
          isCumulusError(error, 'invalid_input') &&
          message.test(error.message) &&
          /p\.json/.test(error.message),
      );
    }
    const dir = await mkdtemp(join(tmpdir(), 'cumulus-sensors-'));
    try {
      await writeFile(join(dir, 'bad.json'), '{ not json');
      await assert.rejects(
        new SimulatedSensors(join(dir, 'bad.json'), systemClock).read(),
        /is not valid JSON/,
      );
      await assert.rejects(
        new SimulatedSensors(join(dir, 'missing.json'), systemClock).read(),
        /cannot read the sensor profile/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
