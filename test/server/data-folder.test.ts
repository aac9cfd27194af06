/**
 * The server's data folder is private: a new one and an existing one left readable by an
 * older version (server.sqlite 0644, accounts/ 0755) end up 0700 folders and 0600 files
 * once the server starts.
 */
import assert from 'node:assert/strict';
import { chmod, lstat, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createAccount, firstDevice, startTestServer } from './helpers.ts';

/** modes lists every entry under a folder with its permission bits, the folder first. */
async function modes(dir: string): Promise<[string, string][]> {
  const names = ['.', ...(await readdir(dir, { recursive: true }))];
  return Promise.all(
    names.map(async (name): Promise<[string, string]> => {
      const stats = await lstat(join(dir, name));
      return [`${stats.isDirectory() ? 'dir ' : 'file '}${name}`, (stats.mode & 0o777).toString(8)];
    }),
  );
}

describe('the data folder', () => {
  const dirs: string[] = [];
  after(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('a new one is private, and an existing readable one is made private on start', async () => {
    const data = await mkdtemp(join(tmpdir(), 'cumulus-modes-'));
    dirs.push(data);
    let server = await startTestServer({ dataDir: data });
    let id: string;
    try {
      id = await createAccount(server, 'mo@example.com', 'a password');
      await firstDevice(server, 'mo@example.com', 'a password');
      await server.services.repositories.forAccount(id);
      // Every folder is 0700, so what is made in one while the server runs is private too.
      for (const [entry, mode] of await modes(data)) {
        if (entry.startsWith('dir') || entry.includes('server.sqlite')) {
          assert.equal(mode, entry.startsWith('dir') ? '700' : '600', `new: ${entry}`);
        }
      }
    } finally {
      await server.close();
    }

    // What an older version left: readable by every local user.
    for (const [entry] of await modes(data)) {
      const path = join(data, entry.replace(/^(dir|file) /, ''));
      await chmod(path, entry.startsWith('dir') ? 0o755 : 0o644);
    }
    server = await startTestServer({ dataDir: data });
    try {
      const after = await modes(data);
      assert.ok(after.some(([entry]) => entry.endsWith('server.sqlite')));
      assert.ok(after.some(([entry]) => entry === `dir accounts/${id}`));
      for (const [entry, mode] of after)
        assert.equal(mode, entry.startsWith('dir') ? '700' : '600', `existing: ${entry}`);
    } finally {
      await server.close();
    }
  });
});
