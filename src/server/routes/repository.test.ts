import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isCumulusError } from '../../core/errors.ts';
import { receiveBytes } from './repository.ts';

async function* pieces(...parts: string[]): AsyncIterable<Buffer> {
  for (const part of parts) yield Buffer.from(part);
}

describe('receiveBytes', () => {
  it('joins the pieces of a body, with or without a Content-Length', async () => {
    assert.equal((await receiveBytes('11', pieces('hello', ' ', 'world'), 64)).toString(), 'hello world');
    assert.equal(
      (await receiveBytes(undefined, pieces('hello', ' ', 'world'), 64)).toString(),
      'hello world',
    );
  });

  it('refuses a body over the limit as too_large, declared or streamed', async () => {
    await assert.rejects(receiveBytes('65', pieces('x'), 64), (e) => isCumulusError(e, 'too_large'));
    await assert.rejects(receiveBytes(undefined, pieces('x'.repeat(40), 'y'.repeat(40)), 64), (e) =>
      isCumulusError(e, 'too_large'),
    );
  });

  it('refuses a body whose length differs from its Content-Length', async () => {
    await assert.rejects(receiveBytes('10', pieces('hello'), 64), (e) => isCumulusError(e, 'invalid_input'));
    await assert.rejects(receiveBytes('3', pieces('hello'), 64), (e) => isCumulusError(e, 'invalid_input'));
  });
});
