/** The Repository contract against RemoteRepository and a real server on loopback. */
import { join } from 'node:path';
import { after, before } from 'node:test';
import { repositoryContract } from '../../src/client/repository.contract.ts';
import { accountsRoot } from '../../src/server/services/account-repositories.ts';
import { packName } from '../../src/store/repository-store.ts';
import { startTestServer, type TestServer } from './helpers.ts';
import { newAccount } from './repository-helpers.ts';

let server: TestServer;
let accounts = 0;
before(async () => {
  server = await startTestServer();
});
after(() => server.close());

repositoryContract('remote, through a server on loopback', async (t) => {
  const device = await newAccount(server, `contract-${++accounts}@example.com`);
  t.after(() => device.vault.repo.close());
  const folder = join(accountsRoot(server.dataDir), device.state.accountId);
  return { repo: device.vault.repo, packPath: (id) => join(folder, packName(id)) };
});
