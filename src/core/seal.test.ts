import assert from 'node:assert/strict';
import { createCipheriv, createHmac, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isCumulusError } from './errors.ts';
import { deriveSubkeys } from './keys.ts';
import { BlobOpener, blobId, openBlob, SEAL_OVERHEAD, sealBlob } from './seal.ts';

const keys = deriveSubkeys(Buffer.from(Array.from({ length: 32 }, (_, i) => i)), 'ab'.repeat(32));
const otherKeys = deriveSubkeys(Buffer.alloc(32, 1), 'ab'.repeat(32));

const isCorrupt = (error: unknown) => isCumulusError(error, 'corrupt');

function sealed(plaintext: Uint8Array, options?: { level?: number }) {
  const id = blobId(keys.blobId, plaintext);
  return { id, bytes: sealBlob(keys, id, plaintext, options) };
}

/** incompressible returns bytes zstd cannot shrink. */
function incompressible(length: number): Buffer {
  return createCipheriv('aes-256-ctr', Buffer.alloc(32), Buffer.alloc(16)).update(Buffer.alloc(length));
}

/** textLike returns compressible bytes that look like source code. */
function textLike(length: number): Buffer {
  const words = [
    'const',
    'return',
    'function',
    'value',
    'if',
    '(',
    ')',
    '{',
    '}',
    ';',
    '\n',
    'index',
    '=',
    'await',
  ];
  let text = '';
  for (let i = 0; text.length < length; i++) text += `${words[(i * 7919) % words.length]} `;
  return Buffer.from(text.slice(0, length));
}

describe('blobId', () => {
  it('equals node:crypto HMAC-SHA256 for any key and data', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 64 }),
        fc.uint8Array({ maxLength: 2000 }),
        (key, data) => {
          const expected = createHmac('sha256', key).update(data).digest('hex');
          assert.equal(blobId(Buffer.from(key), data), expected);
        },
      ),
    );
  });

  it('is the HMAC-SHA256 of the plaintext under the blob-id key (known answer)', () => {
    assert.equal(
      blobId(keys.blobId, Buffer.from('hello, cumulus')),
      'd39a15295f2800e4aabf185d8f9770cf55dc34b3640106b0023ab117d601c6ba',
    );
  });
});

describe('sealBlob and openBlob', () => {
  // Checked against an independent AES-256-GCM from docs/format.md: nonce ‖ GCM(0x00 ‖ text) ‖ tag, AAD = id.
  it('seal a small blob to the documented bytes (known answer)', () => {
    const plaintext = Buffer.from('hello, cumulus');
    const id = blobId(keys.blobId, plaintext);
    const bytes = sealBlob(keys, id, plaintext, { nonce: Buffer.alloc(12, 7) });
    assert.equal(
      bytes.toString('hex'),
      '07070707070707070707070730d51b71e8547d87268ab10829fa6ae3b7692bf6dba0029dae5f33ad8787d3',
    );
    assert.deepEqual(openBlob(keys, id, bytes), plaintext);
  });

  it('open a known zstd-compressed blob', () => {
    const id = '7e08287269329de5991d4a990e52635ae5c461d37f990863994ae06bd08dc753';
    const bytes = Buffer.from(
      '090909090909090909090909da24efca50e6426c63a0bfa8015f69e3e2d4feda89e93c68bb54435c1930841c673d2ec3d7d68e866488',
      'hex',
    );
    assert.deepEqual(openBlob(keys, id, bytes), Buffer.from('cumulus '.repeat(64)));
  });

  it('round-trip any data at any level', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 4096, size: 'max' }),
          fc.string({ maxLength: 4096 }).map((s) => Buffer.from(s)),
        ),
        fc.constantFrom(-5, 1, 3, 9, 19),
        (plaintext, level) => {
          const { id, bytes } = sealed(plaintext, { level });
          assert.deepEqual(openBlob(keys, id, bytes), Buffer.from(plaintext));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('compress compressible blobs and store incompressible ones, large and small', () => {
    for (const size of [2000, 1 << 20]) {
      const text = sealed(textLike(size));
      assert.ok(text.bytes.length < size / 2, `${size} bytes of text sealed to ${text.bytes.length}`);
      assert.deepEqual(openBlob(keys, text.id, text.bytes), textLike(size));
      const random = sealed(incompressible(size));
      assert.equal(random.bytes.length, size + SEAL_OVERHEAD);
      assert.deepEqual(openBlob(keys, random.id, random.bytes), incompressible(size));
    }
  });

  it('use a fresh nonce every time', () => {
    const plaintext = Buffer.from('same');
    assert.notDeepEqual(sealed(plaintext).bytes, sealed(plaintext).bytes);
  });

  it('never repeat a nonce, across refills of the nonce pool', () => {
    const plaintext = Buffer.from('same');
    const nonces = new Set<string>();
    const count = 10_000;
    for (let i = 0; i < count; i++) nonces.add(sealed(plaintext).bytes.subarray(0, 12).toString('hex'));
    assert.equal(nonces.size, count);
  });

  it('say corrupt when any byte is flipped, stored or compressed', () => {
    for (const plaintext of [Buffer.from('a short stored blob'), textLike(300)]) {
      const { id, bytes } = sealed(plaintext);
      for (let at = 0; at < bytes.length; at++) {
        const damaged = Buffer.from(bytes);
        damaged[at] ^= 1 << (at % 8);
        assert.throws(() => openBlob(keys, id, damaged), isCorrupt, `flipping byte ${at}`);
      }
    }
  });

  it('say corrupt, naming the blob, for a wrong id, a wrong key or a cut blob', () => {
    const { id, bytes } = sealed(Buffer.from('content'));
    const other = blobId(keys.blobId, Buffer.from('other content'));
    assert.throws(
      () => openBlob(keys, other, bytes),
      (error) => isCorrupt(error) && /blob [0-9a-f]{8} /.test(String(error)),
    );
    assert.throws(() => openBlob(otherKeys, id, bytes), isCorrupt);
    assert.throws(() => openBlob(keys, id, bytes.subarray(0, SEAL_OVERHEAD - 1)), isCorrupt);
    assert.throws(() => openBlob(keys, id, bytes.subarray(1)), isCorrupt);
  });

  it('say corrupt when a well-sealed blob does not hash to its id', () => {
    // Only someone with the key can do this; the HMAC check catches a buggy or malicious writer.
    const id = blobId(keys.blobId, Buffer.from('what the id names'));
    const bytes = sealBlob(keys, id, Buffer.from('something else'));
    assert.throws(
      () => openBlob(keys, id, bytes),
      (error) => isCorrupt(error) && /does not match its ID/.test(String(error)),
    );
  });

  it('seal random megabytes in one piece', () => {
    const plaintext = randomBytes(3 << 20);
    const { id, bytes } = sealed(plaintext);
    assert.deepEqual(openBlob(keys, id, bytes), plaintext);
  });
});

/** sealedRaw seals `body` under `flag` by hand, as only a key holder could: the tag is valid. */
function sealedRaw(id: string, flag: number, body: Buffer): Buffer {
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', keys.encryption, nonce).setAAD(Buffer.from(id, 'hex'));
  return Buffer.concat([
    nonce,
    cipher.update(Buffer.of(flag)),
    cipher.update(body),
    cipher.final(),
    cipher.getAuthTag(),
  ]);
}

describe('BlobOpener', () => {
  it('opens blob after blob with one zstd context, small and larger than its buffer, in any order', () => {
    const opener = new BlobOpener(keys);
    const blobs = [300, 70_000, 2000, 1 << 20, 5].map((size, i) => sealed(textLike(size + i)));
    const kept = blobs.map(({ id, bytes }) => opener.open(id, bytes));
    for (const [i, { id }] of blobs.entries()) assert.equal(blobId(keys.blobId, kept[i]), id, `blob ${i}`);
  });

  it('with reuse, hands out a view that the next open overwrites; without, plaintexts are kept', () => {
    const a = sealed(textLike(4000));
    const b = sealed(textLike(5000).reverse());
    const reusing = new BlobOpener(keys, { reuse: true });
    const first = reusing.open(a.id, a.bytes);
    assert.equal(blobId(keys.blobId, first), a.id);
    reusing.open(b.id, b.bytes);
    assert.notEqual(blobId(keys.blobId, first), a.id);
    const keeping = new BlobOpener(keys);
    const kept = keeping.open(a.id, a.bytes);
    keeping.open(b.id, b.bytes);
    assert.equal(blobId(keys.blobId, kept), a.id);
  });

  it('says corrupt for a well-sealed frame zstd refuses, and opens the next blob after it', () => {
    const opener = new BlobOpener(keys, { reuse: true });
    const good = sealed(textLike(3000));
    const id = blobId(keys.blobId, Buffer.from('anything'));
    for (const body of [Buffer.from('not a zstd frame'), good.bytes.subarray(0, 8)]) {
      assert.throws(
        () => opener.open(id, sealedRaw(id, 1, body)),
        (error) => isCorrupt(error) && /does not decompress/.test(String(error)),
      );
      assert.equal(blobId(keys.blobId, opener.open(good.id, good.bytes)), good.id);
    }
  });
});
