import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { KdfParams, RepositoryConfig } from '../../api/common.ts';
import { MIGRATIONS } from '../db/migrations.ts';
import { SqliteDatabase } from '../db/sqlite-database.ts';
import { AccountRecords } from './account-records.ts';

const KDF: KdfParams = { name: 'scrypt', N: 1024, r: 8, p: 1, salt: 'c2FsdA==' };
const REPOSITORY_CONFIG: RepositoryConfig = {
  version: 1,
  id: 'ab'.repeat(32),
  chunker: { min: 1024, avg: 4096, max: 16384 },
  created: '2026-01-01T00:00:00.000Z',
};

describe('the accounts table through AccountRecords', () => {
  let dir: string;
  let db: SqliteDatabase;
  let records: AccountRecords;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cumulus-account-records-'));
    db = new SqliteDatabase(join(dir, 'server.sqlite'));
    await db.migrate(MIGRATIONS);
    await db.run(
      "INSERT INTO plans (id, name, quota_bytes, offered, is_default, created_at) VALUES ('p', 'P', 100, 1, 1, 0)",
    );
    records = new AccountRecords(db);
    await db.transaction((tx) =>
      records.insert(tx, {
        id: 'a1',
        email: 'a@example.com',
        role: 'user',
        planId: 'p',
        kdf: KDF,
        authHash: 'hash-1',
        createdAt: 5,
      }),
    );
  });
  after(async () => {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('reads an account back as a camelCase record with its KDF parsed', async () => {
    const record = await records.byId('a1');
    assert.deepEqual(record, {
      id: 'a1',
      email: 'a@example.com',
      role: 'user',
      planId: 'p',
      disabledAt: null,
      kdf: KDF,
      authHash: 'hash-1',
      repositoryConfig: null,
      wrappedKey: null,
      recoveryHash: null,
      recoveryWrappedKey: null,
      totpSecret: null,
      totpPendingSecret: null,
      totpLastStep: null,
      warningLevel: 0,
      createdAt: 5,
    });
    assert.deepEqual(await records.byEmail('a@example.com'), record);
    assert.equal(await records.byId('nobody'), undefined);
  });

  it('advances the TOTP step only forwards, so a code works once', async () => {
    await records.setPendingTotp('a1', 'SECRET');
    await db.transaction((tx) => records.confirmTotp(tx, 'a1', 10));
    const confirmed = await records.byId('a1');
    assert.equal(confirmed?.totpSecret, 'SECRET');
    assert.equal(confirmed?.totpPendingSecret, null);
    assert.equal(await records.advanceTotpStep('a1', 10), false, 'the confirming step is used up');
    assert.equal(await records.advanceTotpStep('a1', 11), true);
    assert.equal(await records.advanceTotpStep('a1', 11), false);
    await db.transaction((tx) => records.clearTotp(tx, 'a1'));
    assert.equal((await records.byId('a1'))?.totpLastStep, null);
  });

  it('stores the first keys once and replaces the password only over the expected hash', async () => {
    const keys = {
      repositoryConfig: REPOSITORY_CONFIG,
      wrappedKey: 'wk',
      recoveryHash: 'rh',
      recoveryWrappedKey: 'rwk',
    };
    assert.equal(await db.transaction((tx) => records.setKeysOnce(tx, 'a1', keys)), true);
    assert.equal(await db.transaction((tx) => records.setKeysOnce(tx, 'a1', keys)), false);
    const next = { kdf: KDF, authHash: 'hash-2', wrappedKey: 'wk-2' };
    assert.equal(await db.transaction((tx) => records.replacePassword(tx, 'a1', 'stale', next)), false);
    assert.equal(await db.transaction((tx) => records.replacePassword(tx, 'a1', 'hash-1', next)), true);
    const record = await records.byId('a1');
    assert.deepEqual(record?.repositoryConfig, REPOSITORY_CONFIG);
    assert.equal(record?.authHash, 'hash-2');
  });

  it('answers undefined or false for an unknown account', async () => {
    assert.equal(await records.warningLevel(db, 'nobody'), undefined);
    assert.equal(await records.planIdOf(db, 'nobody'), undefined);
    assert.equal(await records.disabledAt(db, 'nobody'), undefined);
    assert.equal(await records.idByEmail(db, 'nobody@example.com'), undefined);
    assert.equal(await db.transaction((tx) => records.setDisabledAt(tx, 'nobody', 1)), false);
    assert.equal(await records.count(), 1);
  });
});
