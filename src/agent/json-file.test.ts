import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readJsonFile, writeJsonFile } from './json-file.ts';

test("the agent's files are readable by their owner only", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cumulus-json-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'state', 'cumulus', 'settings.json');
  await writeJsonFile(path, { sources: ['/home/me/Secret plans'] });
  assert.deepEqual(await readJsonFile(path), { sources: ['/home/me/Secret plans'] });
  assert.equal((await stat(path)).mode & 0o777, 0o600);
  assert.equal((await stat(join(dir, 'state', 'cumulus'))).mode & 0o777, 0o700);
});
