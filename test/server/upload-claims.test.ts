/**
 * The quota claimed by uploads in progress lives in the server database: two replicas on
 * one PostgreSQL receiving packs of one account at once never admit more than its plan
 * holds, and a claim left by a process killed mid-upload stops counting once it expires.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CLAIM_MS, UploadClaims } from '../../src/server/services/upload-claims.ts';
import { findPostgres, NO_POSTGRES, startPostgres, type TestPostgres } from '../helpers/postgres.ts';
import { startTestServer, type TestServer } from './helpers.ts';
import {
  newAccount,
  onePack,
  setQuota,
  storeOf,
  type TestDevice,
  uploadPack as upload,
} from './repository-helpers.ts';

const PACK_BYTES = 200_000;

describe('upload claims shared by two replicas on one PostgreSQL', {
  skip: findPostgres() === undefined ? NO_POSTGRES : undefined,
}, () => {
  let cluster: TestPostgres;
  let dataDir: string;
  let replicas: TestServer[] = [];
  before(async () => {
    cluster = await startPostgres();
    dataDir = await mkdtemp(join(tmpdir(), 'cumulus-claims-'));
    const config = { databaseUrl: await cluster.database() };
    replicas = [await startTestServer({ config, dataDir }), await startTestServer({ config, dataDir })];
  });
  after(async () => {
    await Promise.all(replicas.map((replica) => replica.close()));
    await cluster?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('admits no more packs at once, over both replicas, than the plan holds', async () => {
    const laptop = await newAccount(replicas[0], 'race@example.com');
    const packs = Array.from({ length: 8 }, () => onePack(PACK_BYTES));
    const packLength = packs[0].bytes.length;
    const quota = Math.floor(2.5 * packLength);
    await setQuota(replicas[0], laptop.state.accountId, quota);
    const answers = await Promise.all(packs.map((pack, i) => upload(replicas[i % 2], laptop, pack)));
    const admitted = answers.filter((a) => a.status === 200).length;
    assert.ok(admitted >= 1 && admitted <= 2, `${admitted} of 8 packs admitted, 2 fit`);
    for (const refused of answers.filter((a) => a.status !== 200)) {
      assert.equal(refused.status, 507);
      assert.equal(refused.body.error.code, 'quota_exceeded');
    }
    const stored = await (await storeOf(replicas[1], laptop.state.accountId)).store.storedBytes();
    assert.ok(stored <= quota, `${stored} bytes stored, the plan holds ${quota}`);
    assert.equal(stored, admitted * packLength);
  });
});

describe('an upload claim', () => {
  let server: TestServer;
  let laptop: TestDevice;
  before(async () => {
    server = await startTestServer();
    laptop = await newAccount(server, 'claims@example.com');
  });
  after(() => server.close());

  const claimRows = async () =>
    Number((await server.services.db.get<{ n: number }>('SELECT count(*) AS n FROM upload_claims'))?.n);

  it('left by a process killed mid-upload holds the quota until it expires, then is swept', async () => {
    const packs = [onePack(PACK_BYTES), onePack(PACK_BYTES)];
    await setQuota(server, laptop.state.accountId, 2 * packs[0].bytes.length);
    // What a replica that was killed before its pack landed leaves behind.
    await new UploadClaims(server.services.db, server.clock).claim(
      laptop.state.accountId,
      packs[0].bytes.length,
    );
    assert.equal(
      (await upload(server, laptop, packs[0])).status,
      200,
      'one pack still fits beside the claim',
    );
    const refused = await upload(server, laptop, packs[1]);
    assert.equal(refused.status, 507);
    assert.equal(
      refused.body.error.details.usage,
      2 * packs[0].bytes.length,
      'the stored pack and the claim',
    );
    server.clock.advance(CLAIM_MS);
    assert.equal((await upload(server, laptop, packs[1])).status, 200, 'the expired claim no longer counts');
    assert.equal(await claimRows(), 0, 'swept, and the uploads released their own');
  });

  it('of an upload that fails is released at once', async () => {
    await setQuota(server, laptop.state.accountId, 10_000_000);
    const pack = onePack(PACK_BYTES);
    const corrupt = {
      id: pack.id,
      bytes: Uint8Array.from(pack.bytes, (byte, i) => (i === 100 ? byte ^ 1 : byte)),
    };
    assert.equal((await upload(server, laptop, corrupt)).status, 422);
    assert.equal(await claimRows(), 0);
  });
});
