import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { plainHttpWarning } from './server-url.ts';

describe('plainHttpWarning', () => {
  it('warns about plain HTTP beyond this machine only', () => {
    for (const url of ['http://backup.example.com', 'http://192.168.1.5:8080', 'http://[2001:db8::1]:80'])
      assert.match(plainHttpWarning(url) ?? '', /plain HTTP/, url);
    for (const url of [
      'https://backup.example.com',
      'http://127.0.0.1:8080',
      'http://localhost:1',
      'http://[::1]:8080',
    ])
      assert.equal(plainHttpWarning(url), undefined, url);
  });
});
