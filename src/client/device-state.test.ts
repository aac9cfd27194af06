import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { isCumulusError } from '../core/errors.ts';
import {
  clearDeviceState,
  configDir,
  type DeviceState,
  loadDeviceState,
  requireDeviceState,
  saveDeviceState,
} from './device-state.ts';

const STATE: DeviceState = {
  version: 1,
  serverUrl: 'http://127.0.0.1:8080',
  email: 'me@example.com',
  accountId: 'a'.repeat(32),
  deviceId: 'b'.repeat(32),
  deviceName: 'laptop',
  token: 'c'.repeat(32),
  accountKey: Buffer.alloc(32, 1).toString('base64'),
  repositoryConfig: {
    version: 1,
    id: 'd'.repeat(64),
    chunker: { min: 1, avg: 2, max: 4 },
    created: '2030-01-01T00:00:00.000Z',
  },
};

describe('device state', () => {
  const dirs: string[] = [];
  const tempDir = async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cumulus-state-'));
    dirs.push(dir);
    return join(dir, 'config');
  };
  after(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

  it('saves atomically for the owner only, loads back, and clears', async () => {
    const dir = await tempDir();
    assert.equal(await loadDeviceState(dir), undefined);
    await assert.rejects(requireDeviceState(dir), { code: 'unauthorized' });
    await saveDeviceState(STATE, dir);
    await saveDeviceState({ ...STATE, deviceName: 'renamed' }, dir);
    assert.deepEqual(await loadDeviceState(dir), { ...STATE, deviceName: 'renamed' });
    assert.equal((await stat(join(dir, 'device.json'))).mode & 0o777, 0o600);
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
    assert.deepEqual(await readdir(dir), ['device.json'], 'no temporary file left');
    await clearDeviceState(dir);
    assert.equal(await loadDeviceState(dir), undefined);
  });

  it('calls a damaged file damaged, with the way out', async () => {
    const dir = await tempDir();
    await saveDeviceState(STATE, dir);
    await writeFile(join(dir, 'device.json'), '{"version":1');
    await assert.rejects(
      loadDeviceState(dir),
      (error: unknown) => isCumulusError(error, 'corrupt') && /cumulus login/.test(error.hint ?? ''),
    );
    await writeFile(join(dir, 'device.json'), JSON.stringify({ ...STATE, accountKey: 'short' }));
    await assert.rejects(loadDeviceState(dir), { code: 'corrupt' });
  });

  it('finds its folder from CUMULUS_CONFIG_DIR, then XDG, then the home folder', () => {
    assert.equal(configDir({ CUMULUS_CONFIG_DIR: '/x', XDG_CONFIG_HOME: '/y', HOME: '/h' }, 'linux'), '/x');
    assert.equal(configDir({ XDG_CONFIG_HOME: '/y', HOME: '/h' }, 'linux'), '/y/cumulus');
    assert.equal(configDir({ HOME: '/h' }, 'linux'), '/h/.config/cumulus');
    assert.equal(configDir({ HOME: '/h' }, 'darwin'), '/h/Library/Application Support/Cumulus');
  });
});
