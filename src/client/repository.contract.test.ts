import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { FaultyBlobStore } from '../store/faulty-blob-store.ts';
import { packName } from '../store/repository-store.ts';
import { createLocalRepository, LocalRepository } from './local-repository.ts';
import { repositoryContract } from './repository.contract.ts';
import type { RepositoryConfig } from './repository.ts';

const CONFIG: RepositoryConfig = {
  version: 1,
  id: 'cd'.repeat(32),
  chunker: { min: 512 << 10, avg: 1 << 20, max: 8 << 20 },
  created: '2030-01-01T00:00:00.000Z',
};

async function folder(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cumulus-contract-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const created = await createLocalRepository(join(dir, 'repo'), CONFIG, { id: '02'.repeat(16), text: '{}' });
  await created.close();
  return join(dir, 'repo');
}

repositoryContract('local folder', async (t) => {
  const dir = await folder(t);
  const repo = new LocalRepository(dir, CONFIG);
  t.after(() => repo.close());
  return { repo, packPath: (id) => join(dir, packName(id)) };
});

repositoryContract('local folder through a fault-injecting BlobStore', async (t) => {
  const dir = await folder(t);
  let faults: FaultyBlobStore | undefined;
  const repo = new LocalRepository(dir, CONFIG, {
    wrapPacks: (files) => {
      faults = new FaultyBlobStore(files);
      return faults;
    },
  });
  t.after(() => repo.close());
  return { repo, packPath: (id) => join(dir, packName(id)), faults };
});
