import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { newRepositoryId } from '../core/keys.ts';
import type { DeviceState } from './device-state.ts';
import { openFromDevice, sealForOwner } from './sealed-report.ts';

function stateWithKey(key: Buffer, repositoryId: string): DeviceState {
  return {
    accountKey: key.toString('base64'),
    repositoryConfig: { id: repositoryId },
  } as unknown as DeviceState;
}

const repositoryId = newRepositoryId();
const owner = stateWithKey(randomBytes(32), repositoryId);
const value = { checks: [{ id: 'power', evidence: ['on battery (34%) at /home/ann/Secret plans'] }] };

test('a sealed report opens with the account key and shows nothing of its content', () => {
  const sealed = sealForOwner(owner, value);
  assert.deepEqual(openFromDevice(owner, sealed), value);
  assert.doesNotMatch(Buffer.from(sealed.sealed, 'base64').toString('latin1'), /Secret|battery|power/);
  assert.notEqual(sealForOwner(owner, value).sealed, sealed.sealed, 'a fresh nonce each time');
});

test('another key, or one changed byte, does not open it', () => {
  const sealed = sealForOwner(owner, value);
  assert.throws(() => openFromDevice(stateWithKey(randomBytes(32), repositoryId), sealed), {
    code: 'corrupt',
  });
  const bytes = Buffer.from(sealed.sealed, 'base64');
  bytes[bytes.length - 1]! ^= 1;
  assert.throws(() => openFromDevice(owner, { ...sealed, sealed: bytes.toString('base64') }), {
    code: 'corrupt',
  });
});
