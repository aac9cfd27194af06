import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { inspect } from 'node:util';
import { describeDatabase, parseServerConfig } from './config.ts';

describe('parseServerConfig', () => {
  it('defaults to ./data on 127.0.0.1:8080 over plain HTTP, trusting no proxy', () => {
    const config = parseServerConfig({}, {});
    assert.deepEqual(
      [config.dataDir, config.host, config.port, config.tls, config.trustProxy, config.logLevel],
      [resolve('data'), '127.0.0.1', 8080, undefined, false, 'info'],
    );
  });

  it('takes the environment, and flags over it', () => {
    const env = {
      CUMULUS_DATA_DIR: '/srv/c',
      CUMULUS_PORT: '9000',
      CUMULUS_HOST: '0.0.0.0',
      CUMULUS_TRUST_PROXY: '10.0.0.1',
      CUMULUS_LOG_LEVEL: 'warn',
    };
    const fromEnv = parseServerConfig({}, env);
    assert.deepEqual(
      [fromEnv.dataDir, fromEnv.port, fromEnv.host, fromEnv.trustProxy, fromEnv.logLevel],
      ['/srv/c', 9000, '0.0.0.0', '10.0.0.1', 'warn'],
    );
    const fromFlags = parseServerConfig(
      { data: '/d', port: '0', trustProxy: true, tlsCert: '/c.pem', tlsKey: '/k.pem' },
      env,
    );
    assert.deepEqual([fromFlags.dataDir, fromFlags.port, fromFlags.trustProxy], ['/d', 0, true]);
    assert.deepEqual(fromFlags.tls, { certFile: '/c.pem', keyFile: '/k.pem' });
  });

  it('refuses a bad port, log level or half a TLS pair, saying what to do', () => {
    assert.throws(() => parseServerConfig({ port: '80a' }, {}), { code: 'usage' });
    assert.throws(() => parseServerConfig({ port: '70000' }, {}), { code: 'usage' });
    assert.throws(() => parseServerConfig({ logLevel: 'loud' }, {}), { code: 'usage' });
    assert.throws(() => parseServerConfig({ tlsCert: '/c.pem' }, {}), /both a certificate and a key/);
  });

  it('moves the database to PostgreSQL with CUMULUS_DATABASE_URL, and never shows its password', () => {
    assert.equal(parseServerConfig({}, {}).databaseUrl, undefined);
    assert.match(describeDatabase(parseServerConfig({ data: '/d' }, {})), /^SQLite in \/d/);
    const url = 'postgres://cumulus:s3cret@db.internal:5432/cumulus';
    const config = parseServerConfig({}, { CUMULUS_DATABASE_URL: url });
    assert.equal(config.databaseUrl, url);
    const shown = describeDatabase(config);
    assert.match(shown, /^PostgreSQL postgres:\/\/cumulus:\*\*\*@db\.internal:5432\/cumulus$/);
    assert.doesNotMatch(shown, /s3cret/);
    assert.throws(() => parseServerConfig({}, { CUMULUS_DATABASE_URL: 'mysql://x/y' }), { code: 'usage' });
  });

  it('keeps packs in the data folder unless CUMULUS_BLOB_STORE names a bucket', async () => {
    assert.deepEqual(parseServerConfig({}, {}).blobStore, { kind: 'folder' });
    const config = parseServerConfig(
      {},
      {
        CUMULUS_BLOB_STORE: 's3://backups/cumulus/prod/',
        AWS_ENDPOINT_URL: 'http://minio:9000/',
        AWS_REGION: 'eu-west-1',
        AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE',
        AWS_SECRET_ACCESS_KEY: 'secret-never-shown',
      },
    );
    assert.equal(config.blobStore.kind, 's3');
    if (config.blobStore.kind !== 's3') return;
    const { settings } = config.blobStore;
    assert.deepEqual(
      [settings.bucket, settings.prefix, settings.endpoint, settings.region],
      ['backups', 'cumulus/prod', 'http://minio:9000', 'eu-west-1'],
    );
    assert.deepEqual(await settings.credentials?.(), {
      accessKeyId: 'AKIAEXAMPLE',
      secretAccessKey: 'secret-never-shown',
    });
    const printed = `${JSON.stringify(config)} ${inspect(config, { depth: 10 })}`;
    assert.doesNotMatch(printed, /secret-never-shown|AKIAEXAMPLE/, 'printing the config shows no credential');
  });

  it('refuses a blob store that is not s3://bucket/prefix, or half a key pair', () => {
    for (const url of ['/srv/packs', 's3://', 's3://UPPER/x', 's3://b/../x']) {
      assert.throws(() => parseServerConfig({}, { CUMULUS_BLOB_STORE: url }), { code: 'usage' }, url);
    }
    assert.throws(
      () => parseServerConfig({}, { CUMULUS_BLOB_STORE: 's3://bucket', AWS_ACCESS_KEY_ID: 'AKIA' }),
      /both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/,
    );
  });
});
