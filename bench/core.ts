/**
 * Micro-benchmarks of src/core, one core each: the chunker, hashing, zstd at the
 * candidate levels, sealing and opening, on three kinds of data, next to this machine's
 * primitive limits measured by `openssl speed`. Run `npx node bench/core.ts`; `npm run
 * bench` calls runCoreBench(). Takes about 20–30 s.
 */
import { execFileSync } from 'node:child_process';
import { createCipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import { constants, zstdCompressSync, zstdDecompressSync } from 'node:zlib';
import { cutPoint, DEFAULT_CHUNKER } from '../src/core/chunker.ts';
import {
  DEFAULT_KDF,
  deriveSubkeys,
  newMasterKey,
  newRepositoryId,
  unwrapMasterKey,
  wrapMasterKey,
} from '../src/core/keys.ts';
import { blobId, DEFAULT_ZSTD_LEVEL, openBlob, sealBlob } from '../src/core/seal.ts';
import { type ContentKind, contentBytes } from './content.ts';
import { renderTable } from './table.ts';
import { fixed, megabytes } from './units.ts';

/** Row is one measurement: MB/s per core of `operation` on `data`, and its compression ratio where one applies. */
export interface Row {
  operation: string;
  data: string;
  mbPerSec?: number;
  /** Compressed size ÷ original size. */
  ratio?: number;
  note?: string;
}

/** The candidate zstd levels, up to restic's default (3); 4 and 5 were slower still for 1% (measured). */
const LEVELS = [1, 2, 3];
const BLOB_SIZE = 1 << 20;
const BLOBS_PER_KIND = 8;
const KINDS: { kind: ContentKind; label: string }[] = [
  { kind: 'code', label: 'source-like text' },
  { kind: 'records', label: 'compressible binary' },
  { kind: 'random', label: 'random' },
];
const ROUNDS = 3;
const ROUND_MS = 100;

/**
 * rate returns the MB/s of `operation` (which processes `bytes` bytes): after a warm-up,
 * the best of ROUNDS rounds of at least ROUND_MS each, as the best round is the one
 * other processes on this shared machine disturbed least.
 */
function rate(bytes: number, operation: () => void): number {
  operation();
  let best = 0;
  for (let round = 0; round < ROUNDS; round++) {
    let runs = 0;
    const started = performance.now();
    let elapsed = 0;
    do {
      operation();
      runs++;
      elapsed = performance.now() - started;
    } while (elapsed < ROUND_MS);
    best = Math.max(best, megabytes(bytes * runs) / (elapsed / 1000));
  }
  return best;
}

/** each calls `operation` on every item, ignoring what it returns (the timed loops of this file). */
function each<T>(items: readonly T[], operation: (item: T, index: number) => unknown): void {
  for (let i = 0; i < items.length; i++) operation(items[i], i);
}

/** blobsOf cuts `data` into BLOB_SIZE pieces, the average chunk the engine seals. */
function blobsOf(data: Buffer): Buffer[] {
  const blobs: Buffer[] = [];
  for (let at = 0; at < data.length; at += BLOB_SIZE) blobs.push(data.subarray(at, at + BLOB_SIZE));
  return blobs;
}

const zstdAt = (level: number) => (blob: Uint8Array) =>
  zstdCompressSync(blob, { params: { [constants.ZSTD_c_compressionLevel]: level } });

function chunkerRows(): Row[] {
  const data = randomBytes(64 << 20);
  const gear = deriveSubkeys(newMasterKey(), newRepositoryId()).gear;
  const chunkAll = () => {
    for (let start = 0; start < data.length; )
      start = cutPoint(gear, DEFAULT_CHUNKER, data, start, data.length);
  };
  const { min, avg, max } = DEFAULT_CHUNKER;
  return [
    {
      operation: 'chunker (FastCDC)',
      data: 'random',
      mbPerSec: rate(data.length, chunkAll),
      note: `${min >> 10}K/${avg >> 10}K/${max >> 10}K; the first min bytes of a chunk are skipped`,
    },
  ];
}

function hashRows(): Row[] {
  const blob = randomBytes(BLOB_SIZE);
  const key = randomBytes(32);
  const iv = randomBytes(12);
  const smallBlobs = Array.from({ length: BLOB_SIZE / 4096 }, (_, i) =>
    blob.subarray(i * 4096, (i + 1) * 4096),
  );
  return [
    {
      operation: 'blob id (HMAC-SHA256)',
      data: 'random',
      mbPerSec: rate(blob.length, () => blobId(key, blob)),
    },
    {
      operation: 'SHA-256 (node)',
      data: 'random',
      mbPerSec: rate(blob.length, () => createHash('sha256').update(blob).digest()),
    },
    {
      operation: 'AES-256-GCM (node)',
      data: 'random',
      mbPerSec: rate(blob.length, () => {
        const cipher = createCipheriv('aes-256-gcm', key, iv);
        cipher.update(blob);
        cipher.final();
      }),
    },
    {
      operation: 'blob id, 4 KiB blobs',
      data: 'random',
      mbPerSec: rate(BLOB_SIZE, () => each(smallBlobs, (small) => blobId(key, small))),
      note: 'small files',
    },
    {
      operation: 'createHmac, 4 KiB blobs',
      data: 'random',
      mbPerSec: rate(BLOB_SIZE, () =>
        each(smallBlobs, (small) => createHmac('sha256', key).update(small).digest()),
      ),
      note: 'what blob id avoids: a key import per call',
    },
  ];
}

function compressionRows(blobs: Buffer[], label: string): Row[] {
  const total = blobs.length * BLOB_SIZE;
  return LEVELS.flatMap((level) => {
    const compress = zstdAt(level);
    const frames = blobs.map(compress);
    const ratio = frames.reduce((sum, frame) => sum + frame.length, 0) / total;
    return [
      {
        operation: `zstd ${level} compress`,
        data: label,
        ratio,
        mbPerSec: rate(total, () => each(blobs, compress)),
      },
      {
        operation: `zstd ${level} decompress`,
        data: label,
        mbPerSec: rate(total, () => each(frames, (frame) => zstdDecompressSync(frame))),
      },
    ];
  });
}

/** sampleRows measures the cost of the 64 KiB trial compression sealBlob makes before compressing a large blob. */
function sampleRows(blobs: Buffer[], label: string): Row {
  const compress = zstdAt(DEFAULT_ZSTD_LEVEL);
  const samples = blobs.map((blob) =>
    blob.subarray((blob.length >> 1) - (1 << 15), (blob.length >> 1) + (1 << 15)),
  );
  return {
    operation: `zstd ${DEFAULT_ZSTD_LEVEL} on a 64 KiB sample`,
    data: label,
    mbPerSec: rate(blobs.length * BLOB_SIZE, () => each(samples, compress)),
    note: 'MB/s of the blobs it decides for',
  };
}

function sealRows(blobs: Buffer[], label: string): Row[] {
  const keys = deriveSubkeys(newMasterKey(), newRepositoryId());
  const total = blobs.length * BLOB_SIZE;
  const ids = blobs.map((blob) => blobId(keys.blobId, blob));
  const sealed = blobs.map((blob, i) => sealBlob(keys, ids[i], blob));
  const ratio = sealed.reduce((sum, bytes) => sum + bytes.length, 0) / total;
  const gear = keys.gear;
  return [
    {
      operation: `seal (zstd ${DEFAULT_ZSTD_LEVEL} + AES-GCM)`,
      data: label,
      ratio,
      mbPerSec: rate(total, () => each(blobs, (blob, i) => sealBlob(keys, ids[i], blob))),
    },
    {
      operation: 'open (AES-GCM + unzstd + HMAC)',
      data: label,
      mbPerSec: rate(total, () => each(sealed, (bytes, i) => openBlob(keys, ids[i], bytes))),
    },
    {
      operation: 'backup path: chunk + id + seal',
      data: label,
      mbPerSec: rate(total, () => {
        for (const blob of blobs) {
          for (let start = 0; start < blob.length; ) {
            const end = cutPoint(gear, DEFAULT_CHUNKER, blob, start, blob.length);
            const chunk = blob.subarray(start, end);
            sealBlob(keys, blobId(keys.blobId, chunk), chunk);
            start = end;
          }
        }
      }),
      note: 'per core, before packing and I/O',
    },
  ];
}

async function kdfRow(): Promise<Row> {
  const master = newMasterKey();
  const file = await wrapMasterKey(master, 'benchmark', { kdf: DEFAULT_KDF, host: 'bench', user: 'bench' });
  const started = performance.now();
  await unwrapMasterKey(file, 'benchmark');
  const ms = performance.now() - started;
  const { N, r, p } = DEFAULT_KDF;
  return {
    operation: 'scrypt (DEFAULT_KDF)',
    data: 'password',
    note: `${ms.toFixed(0)} ms per try, ${(128 * N * r) >> 20} MiB (N=2^${Math.log2(N)}, r=${r}, p=${p})`,
  };
}

/** opensslRow runs `openssl speed -evp ALGO` on 16 KiB blocks for one second, or notes why it could not. */
function opensslRow(algorithm: string): Row {
  const operation = `openssl speed -evp ${algorithm}`;
  try {
    const output = execFileSync('openssl', ['speed', '-evp', algorithm, '-seconds', '1', '-bytes', '16384'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const line = output.split('\n').find((text) => text.toLowerCase().startsWith(algorithm.toLowerCase()));
    const kilobytes = Number(/([\d.]+)k\s*$/.exec(line ?? '')?.[1]);
    if (!Number.isFinite(kilobytes))
      throw new Error(`unexpected output: ${output.trim().split('\n').at(-1)}`);
    return {
      operation,
      data: '16 KiB blocks',
      mbPerSec: kilobytes / 1000,
      note: 'the machine limit, one core',
    };
  } catch (error) {
    return {
      operation,
      data: '16 KiB blocks',
      note: `not measured: ${(error as Error).message.split('\n')[0]}`,
    };
  }
}

/** runCoreBench measures every row (about 20–30 s) and prints the table unless `json` is set. */
export async function runCoreBench(options: { markdown?: boolean; json?: boolean } = {}): Promise<Row[]> {
  const rows: Row[] = [...chunkerRows(), ...hashRows()];
  for (const { kind, label } of KINDS) {
    const blobs = blobsOf(contentBytes(kind, `core-bench-${kind}`, BLOBS_PER_KIND * BLOB_SIZE));
    rows.push(...compressionRows(blobs, label), sampleRows(blobs, label), ...sealRows(blobs, label));
  }
  rows.push(await kdfRow(), opensslRow('sha256'), opensslRow('aes-256-gcm'));
  if (!options.json) process.stdout.write(`${renderCoreTable(rows, options.markdown ?? false)}\n`);
  return rows;
}

/** renderCoreTable lays the rows out as a table, in the order measured. */
export function renderCoreTable(rows: Row[], markdown: boolean): string {
  return renderTable(
    [
      { header: 'Operation', align: 'left' },
      { header: 'Data', align: 'left' },
      { header: 'MB/s per core', align: 'right' },
      { header: 'Ratio', align: 'right' },
      { header: 'Note', align: 'left' },
    ],
    rows.map((row) => [row.operation, row.data, fixed(row.mbPerSec, 0), fixed(row.ratio, 3), row.note ?? '']),
    markdown,
  );
}

if (import.meta.main) await runCoreBench({ markdown: process.argv.includes('--markdown') });
