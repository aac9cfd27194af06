import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TEST_KDF } from '../core/keys.ts';
import {
  derivePasswordKeys,
  newKdfParams,
  newRecoveryKey,
  parseRecoveryKey,
  unwrapAccountKey,
  wrapAccountKey,
} from './account-keys.ts';

const ACCOUNT = 'a'.repeat(32);

describe('account keys', () => {
  it('derives the same keys from the same password and salt, and the auth key reveals nothing of the wrap key', async () => {
    const kdf = newKdfParams(TEST_KDF);
    const a = await derivePasswordKeys('pässword', kdf);
    const b = await derivePasswordKeys('pa\u0308ssword', kdf); // same text, decomposed
    assert.equal(a.authKey, b.authKey, 'passwords compare in NFC');
    assert.ok(a.wrapKey.equals(b.wrapKey));
    assert.notEqual(Buffer.from(a.authKey, 'base64').toString('hex'), a.wrapKey.toString('hex'));
    const other = await derivePasswordKeys('pässword', newKdfParams(TEST_KDF));
    assert.notEqual(other.authKey, a.authKey, 'a new salt gives new keys');
  });

  it('wraps the account key so only the same wrap key, account and purpose open it', async () => {
    const { wrapKey } = await derivePasswordKeys('pw', newKdfParams(TEST_KDF));
    const accountKey = Buffer.alloc(32, 7);
    const wrapped = wrapAccountKey(accountKey, wrapKey, ACCOUNT, 'password');
    assert.equal(Buffer.from(wrapped, 'base64').length, 60);
    assert.ok(unwrapAccountKey(wrapped, wrapKey, ACCOUNT, 'password').equals(accountKey));
    const { wrapKey: otherKey } = await derivePasswordKeys('other', newKdfParams(TEST_KDF));
    for (const [key, account, purpose] of [
      [otherKey, ACCOUNT, 'password'],
      [wrapKey, 'b'.repeat(32), 'password'],
      [wrapKey, ACCOUNT, 'recovery'],
    ] as const) {
      assert.throws(() => unwrapAccountKey(wrapped, key, account, purpose), { code: 'wrong_password' });
    }
    assert.throws(() => unwrapAccountKey('AAAA', wrapKey, ACCOUNT, 'password'), { code: 'key_damaged' });
  });

  it('reads a recovery key back however it is typed', () => {
    const key = newRecoveryKey();
    const typed = parseRecoveryKey(` ${key.text.toUpperCase().replaceAll('-', ' ')} `);
    assert.equal(typed.authKey, key.authKey);
    assert.ok(typed.wrapKey.equals(key.wrapKey));
    assert.throws(() => parseRecoveryKey('1234'), { code: 'usage' });
  });

  it('refuses a password cost a hostile server could use to exhaust the device or to weaken the key', async () => {
    const kdf = newKdfParams(TEST_KDF);
    await assert.rejects(derivePasswordKeys('pw', { ...kdf, N: 2 ** 24 }), { code: 'invalid_input' });
    await assert.rejects(derivePasswordKeys('pw', { ...kdf, N: 16 }), { code: 'invalid_input' });
  });
});
