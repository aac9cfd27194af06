/**
 * The browser's sign-in keys (web/src/keys.ts) and the CLI's (src/client/account-keys.ts)
 * pass the same known-answer vectors (test/vectors/account-keys.json, made once with the
 * CLI's code): the same password and salt give the same auth and wrap keys, a recovery key
 * the same halves, and the browser opens a key the CLI wrapped. The browser module runs
 * here on Node's WebCrypto, the same API Chromium gives it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KDF_FLOOR_N } from '../../../src/api/common.ts';
import * as cli from '../../../src/client/account-keys.ts';
import * as web from '../../../web/src/keys.ts';
import vector from '../../vectors/account-keys.json' with { type: 'json' };

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const kdf = { ...vector.kdf, name: 'scrypt' as const };

describe('sign-in keys: browser and CLI agree', () => {
  it('derive the same auth and wrap keys from a password (NFC, UTF-8)', async () => {
    for (const keys of [
      await cli.derivePasswordKeys(vector.password, kdf),
      await web.derivePasswordKeys(vector.password, kdf, vector.kdf.N),
    ]) {
      assert.equal(keys.authKey, vector.authKey);
      assert.equal(hex(keys.wrapKey), vector.wrapKey);
    }
    const decomposed = vector.password.normalize('NFD');
    assert.equal((await web.derivePasswordKeys(decomposed, kdf, vector.kdf.N)).authKey, vector.authKey);
  });

  it('split a recovery key into the same halves, however it is typed', () => {
    const typed = vector.recoveryKey.toUpperCase().replaceAll('-', ' ');
    for (const keys of [cli.parseRecoveryKey(vector.recoveryKey), web.parseRecoveryKey(typed)]) {
      assert.equal(keys.authKey, vector.recoveryAuthKey);
      assert.equal(hex(keys.wrapKey), vector.recoveryWrapKey);
    }
    assert.throws(() => web.parseRecoveryKey('0123'), /not a recovery key/);
  });

  it('open the account key the CLI wrapped, bound to account and purpose', async () => {
    const wrapKey = Buffer.from(vector.wrapKey, 'hex');
    const recoveryWrapKey = Buffer.from(vector.recoveryWrapKey, 'hex');
    assert.equal(
      hex(await web.unwrapAccountKey(vector.wrappedKey, wrapKey, vector.accountId, 'password')),
      vector.accountKey,
    );
    assert.equal(
      hex(
        await web.unwrapAccountKey(vector.recoveryWrappedKey, recoveryWrapKey, vector.accountId, 'recovery'),
      ),
      vector.accountKey,
    );
    assert.equal(
      hex(cli.unwrapAccountKey(vector.wrappedKey, wrapKey, vector.accountId, 'password')),
      vector.accountKey,
    );
    await assert.rejects(
      web.unwrapAccountKey(vector.wrappedKey, wrapKey, 'b'.repeat(32), 'password'),
      /password does not open the account key/,
    );
    await assert.rejects(
      web.unwrapAccountKey(vector.wrappedKey, wrapKey, vector.accountId, 'recovery'),
      /recovery key does not open/,
    );
  });

  it("refuse a stretch cheaper than the CLI's floor (2^16) or dearer than 1 GiB, however the server asks", async () => {
    assert.equal(KDF_FLOOR_N, 2 ** 16);
    for (const N of [512, 2 ** 10, 2 ** 15]) {
      await assert.rejects(web.derivePasswordKeys('x', { ...kdf, N }), /unusual password cost/);
    }
    await assert.rejects(web.derivePasswordKeys('x', { ...kdf, N: 2 ** 21, r: 8 }), /unusual password cost/);
    await assert.rejects(web.derivePasswordKeys('x', { ...kdf, N: 2 ** 16, r: 8, p: 2 ** 5 }), /unusual/);
    const atFloor = await web.derivePasswordKeys('x', { ...kdf, N: KDF_FLOOR_N });
    const cliAtFloor = await cli.derivePasswordKeys('x', { ...kdf, N: KDF_FLOOR_N }, KDF_FLOOR_N);
    assert.equal(atFloor.authKey, cliAtFloor.authKey);
  });

  it('wrap the account key so that the CLI opens it, and make recovery keys the CLI reads', async () => {
    const accountKey = Buffer.from(vector.accountKey, 'hex');
    const wrapKey = Buffer.from(vector.wrapKey, 'hex');
    const wrapped = await web.wrapAccountKey(accountKey, wrapKey, vector.accountId, 'password');
    assert.notEqual(wrapped, await web.wrapAccountKey(accountKey, wrapKey, vector.accountId, 'password'));
    assert.equal(
      hex(cli.unwrapAccountKey(wrapped, wrapKey, vector.accountId, 'password')),
      vector.accountKey,
    );
    assert.throws(() => cli.unwrapAccountKey(wrapped, wrapKey, vector.accountId, 'recovery'), {
      code: 'wrong_password',
    });
    const recovery = web.newRecoveryKey();
    assert.match(recovery.text, /^[0-9a-f]{8}(-[0-9a-f]{8}){7}$/);
    const parsed = cli.parseRecoveryKey(recovery.text);
    assert.equal(parsed.authKey, recovery.authKey);
    assert.equal(hex(parsed.wrapKey), hex(recovery.wrapKey));
    const salt = web.newKdfParams({ N: 2 ** 17, r: 8, p: 1 });
    assert.deepEqual(
      { ...salt, salt: undefined },
      { name: 'scrypt', N: 2 ** 17, r: 8, p: 1, salt: undefined },
    );
    assert.notEqual(salt.salt, web.newKdfParams(salt).salt);
  });
});
