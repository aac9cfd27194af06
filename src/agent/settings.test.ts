import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isCumulusError } from '../core/errors.ts';
import { agentPaths } from './paths.ts';
import { defaultSettings, SettingsStore, validateSettings } from './settings.ts';
import { addSource, defaultSources, removeSource } from './sources.ts';

async function withDir(test: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'cumulus-settings-'));
  try {
    await test(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('settings', () => {
  it('defaults: daily, on AC, unmetered, locked or idle 10 min, quota and status checked, a notification after 3 days', () => {
    const d = defaultSettings();
    assert.equal(d.schedule.intervalHours, 24);
    assert.deepEqual(d.power, { requireAc: true, allowBatteryAbovePercent: null });
    assert.deepEqual(d.network, { requireUnmetered: true, unknownMeteredCountsAs: 'unmetered' });
    assert.deepEqual(d.session, { requireLockedOrIdle: true, idleMinutes: 10 });
    assert.deepEqual(d.checks, { quota: true, serviceStatus: true });
    assert.deepEqual(d.notify, { afterDays: 3 });
  });

  it('set validates and persists; a bad key or value is refused with the reason', () =>
    withDir(async (dir) => {
      const store = new SettingsStore(join(dir, 'settings.json'));
      await store.set('power.allowBatteryAbovePercent', '50');
      await store.set('network.requireUnmetered', 'off');
      await store.set('schedule.intervalHours', '6');
      const saved = JSON.parse(await readFile(store.path, 'utf8'));
      assert.equal(saved.power.allowBatteryAbovePercent, 50);
      assert.equal(saved.network.requireUnmetered, false);
      assert.equal(saved.schedule.intervalHours, 6);
      await store.set('power.allowBatteryAbovePercent', 'off');
      assert.equal((await store.load()).power.allowBatteryAbovePercent, null);
      const refuse = async (key: string, value: string, message: RegExp) =>
        assert.rejects(
          store.set(key, value),
          (e) => isCumulusError(e, 'invalid_input') && message.test(e.message),
        );
      await refuse('power.requireAc', 'maybe', /power.requireAc must be true or false/);
      await refuse('schedule.intervalHours', '0', /must be a number from 1 to 720/);
      await refuse('schedule.intervalHours', '', /must be a number/);
      await refuse('power.allowBatteryAbovePercent', '101', /from 0 to 100, or off/);
      await refuse('network.unknownMeteredCountsAs', 'perhaps', /must be unmetered or metered/);
      await refuse('power.turbo', 'true', /unknown setting power.turbo/);
    }));

  it('a broken file is reported field by field, load refuses it, reset repairs it keeping the sources', () =>
    withDir(async (dir) => {
      const store = new SettingsStore(join(dir, 'settings.json'));
      await writeFile(
        store.path,
        JSON.stringify({
          power: { requireAc: 3 },
          colour: 'blue',
          sources: [{ path: '/srv/a', excludes: ['*.tmp'] }, { path: 'rel' }],
        }),
      );
      const inspection = await store.inspect();
      assert.deepEqual(inspection.problems, [
        'unknown setting colour',
        'power.requireAc must be true or false (found 3)',
        'sources[1] needs an absolute path',
      ]);
      await assert.rejects(
        store.load(),
        (e) => isCumulusError(e, 'invalid_input') && /settings reset/.test(e.hint ?? ''),
      );
      const reset = await store.reset();
      assert.deepEqual(reset.sources, [{ path: '/srv/a', excludes: [] }]);
      assert.deepEqual((await store.inspect()).problems, []);
      await writeFile(store.path, '{');
      assert.match((await store.inspect()).problems[0], /not valid JSON/);
    }));

  it('validateSettings keeps values it does not know about out and defaults where they are missing', () => {
    const { settings, problems } = validateSettings({ schedule: { intervalHours: 12 } });
    assert.deepEqual(problems, []);
    assert.equal(settings.schedule.intervalHours, 12);
    assert.equal(settings.power.requireAc, true);
  });
});

describe('sources', () => {
  it('first-enable defaults are the usual folders that exist; add/remove keep excludes and refuse what does not exist', () =>
    withDir(async (home) => {
      await mkdir(join(home, 'Documents'));
      await mkdir(join(home, 'Pictures'));
      assert.deepEqual(
        (await defaultSources(home)).map((s) => s.path),
        [join(home, 'Documents'), join(home, 'Pictures')],
      );
      const store = new SettingsStore(join(home, 'settings.json'));
      await addSource(store, join(home, 'Documents'), ['*.iso']);
      await addSource(store, join(home, 'Documents'), ['node_modules/']);
      assert.deepEqual((await store.load()).sources, [
        { path: join(home, 'Documents'), excludes: ['*.iso', 'node_modules/'] },
      ]);
      await assert.rejects(addSource(store, join(home, 'Nope'), []), (e) =>
        isCumulusError(e, 'source_missing'),
      );
      await removeSource(store, join(home, 'Documents'));
      assert.deepEqual((await store.load()).sources, []);
      await assert.rejects(removeSource(store, join(home, 'Documents')), (e) =>
        isCumulusError(e, 'not_found'),
      );
    }));
});

describe('agentPaths', () => {
  it('CUMULUS_CONFIG_DIR wins, then XDG_CONFIG_HOME, then ~/.config', () => {
    assert.equal(agentPaths({ CUMULUS_CONFIG_DIR: '/c', HOME: '/h' }, 'linux').state, '/c/state.json');
    assert.equal(agentPaths({ XDG_CONFIG_HOME: '/x', HOME: '/h' }, 'linux').configDir, '/x/cumulus');
    assert.equal(agentPaths({ HOME: '/h' }, 'linux').configDir, '/h/.config/cumulus');
    assert.equal(agentPaths({ HOME: '/h' }, 'darwin').configDir, '/h/Library/Application Support/Cumulus');
  });

  it("keeps the agent's own files in the XDG state folder, or all in CUMULUS_CONFIG_DIR", () => {
    assert.equal(agentPaths({ HOME: '/h' }, 'linux').state, '/h/.local/state/cumulus/state.json');
    assert.equal(agentPaths({ XDG_STATE_HOME: '/s', HOME: '/h' }, 'linux').lock, '/s/cumulus/agent.lock');
    assert.equal(agentPaths({ HOME: '/h' }, 'linux').settings, '/h/.config/cumulus/settings.json');
    assert.equal(agentPaths({ CUMULUS_CONFIG_DIR: '/c', XDG_STATE_HOME: '/s' }, 'linux').log, '/c/agent.log');
    assert.equal(agentPaths({ HOME: '/h' }, 'darwin').stateDir, '/h/Library/Application Support/Cumulus');
  });
});
