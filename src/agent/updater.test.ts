import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isCumulusError } from '../core/errors.ts';
import { type Installer, runUpdate } from './updater.ts';

const server = (latest: string) => ({ latestRelease: async () => ({ latest, minimum: '0.0.1' }) });

function fakeInstaller(result: {
  installs?: boolean;
  reports?: string;
}): Installer & { installed: string[] } {
  const installed: string[] = [];
  return {
    method: 'the npm package',
    installed,
    install: async (version) => {
      installed.push(version);
      return result.installs ?? true;
    },
    installedVersion: async () => result.reports ?? installed.at(-1),
  };
}

describe('runUpdate', () => {
  it('does nothing when up to date', async () => {
    const installer = fakeInstaller({});
    assert.deepEqual(await runUpdate(server('0.1.0'), '0.1.0', installer), ['already up to date (0.1.0)']);
    assert.deepEqual(installer.installed, []);
  });

  it('installs the latest the way this agent was installed and verifies the installed version', async () => {
    const installer = fakeInstaller({});
    const done = await runUpdate(server('0.2.0'), '0.1.0', installer);
    assert.deepEqual(installer.installed, ['0.2.0']);
    assert.match(done[0], /updated from 0.1.0 to 0.2.0 \(the npm package\); verified/);
  });

  it('fails clearly when the install fails, the verification disagrees, or it cannot update itself', async () => {
    const refused = (e: unknown, message: RegExp) =>
      isCumulusError(e, 'update_required') && message.test(e.message);
    await assert.rejects(runUpdate(server('0.2.0'), '0.1.0', fakeInstaller({ installs: false })), (e) =>
      refused(e, /installing 0.2.0 through the npm package failed/),
    );
    await assert.rejects(runUpdate(server('0.2.0'), '0.1.0', fakeInstaller({ reports: '0.1.0' })), (e) =>
      refused(e, /reports 0.1.0, not 0.2.0/),
    );
    await assert.rejects(runUpdate(server('0.2.0'), '0.1.0', null), (e) =>
      refused(e, /cannot update itself/),
    );
  });
});
