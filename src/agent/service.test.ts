import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { installService, UNIT_NAME } from './service.ts';

describe('installService', () => {
  it('writes a systemd user unit that runs `cumulus agent run` with the config, and enables it when systemd answers', async () => {
    const home = await mkdtemp(join(tmpdir(), 'cumulus-service-'));
    try {
      const calls: string[] = [];
      const env = { CUMULUS_CONFIG_DIR: '/srv/cumulus config', PATH: '/bin' };
      const result = await installService({
        home,
        env,
        logPath: '/tmp/log',
        platform: 'linux',
        run: async (command, args) => {
          calls.push([command, ...args].join(' '));
          return '';
        },
      });
      assert.equal(result.file, join(home, '.config', 'systemd', 'user', UNIT_NAME));
      const unit = await readFile(result.file, 'utf8');
      assert.match(unit, /^ExecStart=.*node\S* --max-semi-space-size=2 \S*bin\/cumulus\.js agent run$/m);
      assert.match(unit, /^Environment=CUMULUS_CONFIG_DIR=\/srv\/cumulus config$/m);
      assert.doesNotMatch(unit, /PATH/);
      assert.match(unit, /^WantedBy=default.target$/m);
      assert.deepEqual(calls, [
        'systemctl --user daemon-reload',
        `systemctl --user enable --now ${UNIT_NAME}`,
      ]);
      assert.equal(result.started, true);
      assert.match(result.done[1], /enabled and started/);
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });

  it('says so honestly when systemd is not running, and writes a launchd plist on macOS', async () => {
    const home = await mkdtemp(join(tmpdir(), 'cumulus-service-'));
    try {
      const linux = await installService({
        home,
        env: {},
        logPath: '/tmp/log',
        platform: 'linux',
        run: async () => undefined,
      });
      assert.equal(linux.started, false);
      assert.match(linux.done[1], /systemd is not available for this user, so nothing was enabled/);
      const mac = await installService({
        home,
        env: {},
        logPath: '/tmp/a&b.log',
        platform: 'darwin',
        run: async () => '',
      });
      assert.equal(mac.file, join(home, 'Library', 'LaunchAgents', 'org.cumulus.agent.plist'));
      const plist = await readFile(mac.file, 'utf8');
      assert.match(plist, /<string>agent<\/string>\n {4}<string>run<\/string>/);
      assert.match(plist, /<string>\/tmp\/a&amp;b.log<\/string>/);
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });
});
