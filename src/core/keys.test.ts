import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isCumulusError } from './errors.ts';
import {
  deriveSubkeys,
  type KeyFile,
  newMasterKey,
  newRepositoryId,
  parseKeyFile,
  serializeKeyFile,
  sourceIdOf,
  TEST_KDF,
  unwrapMasterKey,
  wrapMasterKey,
} from './keys.ts';

const MASTER = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
const REPOSITORY = 'ab'.repeat(32);
const options = { kdf: TEST_KDF, host: 'laptop', user: 'me' };

describe('deriveSubkeys', () => {
  // Vectors checked against an independent HKDF-SHA256 written from docs/format.md.
  it('derives the documented subkeys (known answers)', () => {
    const keys = deriveSubkeys(MASTER, REPOSITORY);
    assert.equal(
      keys.encryption.toString('hex'),
      '2dc3c3fb7f3d2aa319fb90205b6de7483eba67f24511b0902d81c6cd3607f3c9',
    );
    assert.equal(
      keys.blobId.toString('hex'),
      'e92207970fa63e50b6eab3aec7de7415ba2840f7fe46699f95720ece00e0f287',
    );
    assert.equal(
      keys.sourceId.toString('hex'),
      'c20f871d793dc38732ba3d670409a9325efb2cf8b0d97da53963fe469984ad87',
    );
    assert.deepEqual([...keys.gear.subarray(0, 4)], [0x7abd8824, 0x646da36b, 0xe51c49c9, 0x9dc6ac98]);
    assert.equal(keys.gear[255], 0x6404c59a);
  });

  it('gives every repository its own keys for one master key', () => {
    const a = deriveSubkeys(MASTER, REPOSITORY);
    const b = deriveSubkeys(MASTER, newRepositoryId());
    assert.notDeepEqual(a.encryption, b.encryption);
    assert.notDeepEqual(a.gear, b.gear);
  });

  it('refuses a malformed master key or repository id', () => {
    assert.throws(() => deriveSubkeys(MASTER.subarray(1), REPOSITORY));
    assert.throws(() => deriveSubkeys(MASTER, 'AB'.repeat(32)));
  });
});

describe('sourceIdOf', () => {
  it('is the documented 16-byte HMAC of host and path', () => {
    const keys = deriveSubkeys(MASTER, REPOSITORY);
    assert.equal(sourceIdOf(keys, 'laptop', '/home/me/Documents'), '133724955893bb37c0b08a1d02109228');
  });

  it('differs by host and by path', () => {
    const keys = deriveSubkeys(MASTER, REPOSITORY);
    const id = sourceIdOf(keys, 'laptop', '/home/me');
    assert.notEqual(sourceIdOf(keys, 'desktop', '/home/me'), id);
    assert.notEqual(sourceIdOf(keys, 'laptop', '/home/you'), id);
  });
});

describe('newMasterKey and newRepositoryId', () => {
  it('are random and of the documented sizes', () => {
    assert.equal(newMasterKey().length, 32);
    assert.notDeepEqual(newMasterKey(), newMasterKey());
    assert.match(newRepositoryId(), /^[0-9a-f]{64}$/);
    assert.notEqual(newRepositoryId(), newRepositoryId());
  });
});

describe('key files', () => {
  it('give back the master key for the right password, through text', async () => {
    const file = await wrapMasterKey(MASTER, 'correct horse', options);
    const read = parseKeyFile(serializeKeyFile(file));
    assert.deepEqual(read, file);
    assert.deepEqual(await unwrapMasterKey(read, 'correct horse'), MASTER);
    assert.equal(file.host, 'laptop');
    assert.match(file.id, /^[0-9a-f]{32}$/);
  });

  it('say wrong_password for a wrong password', async () => {
    const file = await wrapMasterKey(MASTER, 'correct horse', options);
    await assert.rejects(unwrapMasterKey(file, 'correct hors'), (error) =>
      isCumulusError(error, 'wrong_password'),
    );
  });

  it('accept a password typed in another Unicode normalization form', async () => {
    const file = await wrapMasterKey(MASTER, 'caf\u00e9', options);
    assert.deepEqual(await unwrapMasterKey(file, 'cafe\u0301'), MASTER);
  });

  it('never repeat a salt or id', async () => {
    const [a, b] = await Promise.all([
      wrapMasterKey(MASTER, 'pw', options),
      wrapMasterKey(MASTER, 'pw', options),
    ]);
    assert.notEqual(a.id, b.id);
    assert.notEqual(a.kdf.salt, b.kdf.salt);
    assert.notEqual(a.wrapped, b.wrapped);
  });

  it('say key_damaged when any byte of the file is flipped', async () => {
    const text = serializeKeyFile(await wrapMasterKey(MASTER, 'pw', options));
    const bytes = Buffer.from(text, 'utf8');
    for (let at = 0; at < bytes.length; at++) {
      const damaged = Buffer.from(bytes);
      damaged[at] ^= 0x01;
      await assert.rejects(
        async () => unwrapMasterKey(parseKeyFile(damaged.toString('utf8')), 'pw'),
        (error) => isCumulusError(error, 'key_damaged'),
        `flipping byte ${at} (${JSON.stringify(text[at])}) went unnoticed`,
      );
    }
  });

  it('say key_damaged when a field changes but the checksum does not', async () => {
    const file = await wrapMasterKey(MASTER, 'pw', options);
    await assert.rejects(unwrapMasterKey({ ...file, host: 'other' }, 'pw'), (error) =>
      isCumulusError(error, 'key_damaged'),
    );
  });

  it('refuse files whose fields are missing, extra, malformed or too costly', async () => {
    const good = JSON.parse(serializeKeyFile(await wrapMasterKey(MASTER, 'pw', options))) as KeyFile;
    const variants: unknown[] = [
      'not json',
      [],
      { ...good, extra: 1 },
      { ...good, version: 2 },
      { ...good, id: good.id.toUpperCase() },
      { ...good, created: 'yesterday' },
      { ...good, kdf: { ...good.kdf, name: 'argon2' } },
      { ...good, kdf: { ...good.kdf, N: 1000 } },
      { ...good, kdf: { ...good.kdf, N: 2 ** 30 } },
      { ...good, kdf: { ...good.kdf, r: 0 } },
      { ...good, kdf: { ...good.kdf, salt: 'c2FsdA==' } },
      { ...good, wrapped: `${good.wrapped.slice(0, -4)}!!!!` },
      { ...good, checksum: undefined },
    ];
    for (const variant of variants) {
      const text = typeof variant === 'string' ? variant : JSON.stringify(variant);
      assert.throws(
        () => parseKeyFile(text),
        (error) => isCumulusError(error, 'key_damaged'),
        text,
      );
    }
  });
});
