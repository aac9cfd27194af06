/**
 * `npm run bench -- --browser-restore`: the console's in-browser restore of one big file
 * (default 200 MB, half random, half text, so both stored and zstd-compressed chunks are
 * decoded), in Debian's headless Chromium against a real `cumulus server` process, after a
 * real backup by the CLI: the same path a person's download takes (read-blobs, AES-GCM in
 * WebCrypto, zstd, the ID check, the service worker stream into the downloads folder).
 * Each run is timed from the click to the last byte on disk, then the file is compared
 * with the original. Alone: npx node bench/browser-restore.ts [--runs 3] [--size 200M]
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pseudoRandom } from '../test/helpers/trees.ts';
import { newContext } from '../test/web/browser.ts';
import { startConsoleFixture } from '../test/web/fixture.ts';
import { renderTable } from './table.ts';
import { parseSize } from './units.ts';

const BLOCK = 1 << 20;
const NAME = 'film.bin';
const HEAP_EVERY_MS = 100;

export interface BrowserRestoreResult {
  bytes: number;
  /** Seconds of each run, click to the whole file on disk. */
  seconds: number[];
  /** The page's largest memory seen during the runs (its heap, the embedder's and ArrayBuffers' backing stores), sampled every HEAP_EVERY_MS. */
  peakHeapBytes: number;
  loadBefore: number[];
  loadAfter: number[];
  verified: boolean;
}

/** content is the benchmark's file: 1 MiB blocks, random and English-like text in turn. */
function content(bytes: number): Buffer {
  const text = Buffer.from('The quick brown fox jumps over the lazy dog; a family backs up its photos. ');
  const out = Buffer.allocUnsafe(bytes);
  for (let at = 0, i = 0; at < bytes; at += BLOCK, i++) {
    const size = Math.min(BLOCK, bytes - at);
    if (i % 2 === 0) pseudoRandom(size, i + 1).copy(out, at);
    else for (let j = 0; j < size; j++) out[at + j] = text[(j + i) % text.length];
  }
  return out;
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const piece of createReadStream(path)) hash.update(piece as Buffer);
  return hash.digest('hex');
}

export async function runBrowserRestore(options: {
  runs: number;
  bytes: number;
}): Promise<BrowserRestoreResult> {
  const f = await startConsoleFixture('bench-laptop');
  try {
    const original = content(options.bytes);
    const expected = createHash('sha256').update(original).digest('hex');
    await mkdir(join(f.home, 'Documents'), { recursive: true });
    await writeFile(join(f.home, 'Documents', NAME), original);
    for (const args of [['enable', '--yes'], ['backup']]) {
      const run = await f.cli(args);
      if (run.code !== 0) throw new Error(`cumulus ${args.join(' ')}: ${run.stderr}`);
    }
    const context = await newContext(f.browser);
    context.setDefaultTimeout(600_000);
    const page = await context.newPage();
    await f.signInBrowser(page);
    await page.getByRole('link', { name: 'Browse and restore' }).click();
    await page.getByRole('navigation', { name: 'Snapshots' }).getByRole('button').first().click();
    await page.getByRole('button', { name: `📁 ${join(f.home, 'Documents')}` }).click();
    const result: BrowserRestoreResult = {
      bytes: options.bytes,
      seconds: [],
      loadBefore: loadavg(),
      loadAfter: [],
      verified: true,
      peakHeapBytes: 0,
    };
    const cdp = await context.newCDPSession(page);
    const sample = setInterval(() => {
      cdp.send('Runtime.getHeapUsage').then(
        ({ usedSize, embedderHeapUsedSize, backingStorageSize }) => {
          const bytes = usedSize + embedderHeapUsedSize + backingStorageSize;
          result.peakHeapBytes = Math.max(result.peakHeapBytes, bytes);
        },
        () => {},
      );
    }, HEAP_EVERY_MS);
    for (let run = 0; run < options.runs; run++) {
      const download = page.waitForEvent('download');
      const started = performance.now();
      await page.getByRole('button', { name: `Download ${NAME}`, exact: true }).click();
      const path = await (await download).path();
      result.seconds.push((performance.now() - started) / 1000);
      await page.getByRole('status').getByText(`Restored ${NAME}`).waitFor();
      result.verified &&= (await sha256Of(path)) === expected;
      console.error(
        `browser restore run ${run + 1}: ${(options.bytes / 1e6 / result.seconds.at(-1)!).toFixed(1)} MB/s`,
      );
    }
    clearInterval(sample);
    result.loadAfter = loadavg();
    return result;
  } finally {
    await f.close();
  }
}

export function renderBrowserRestore(result: BrowserRestoreResult, markdown: boolean): string {
  const rates = result.seconds.map((s) => result.bytes / 1e6 / s).sort((a, b) => a - b);
  const median = rates[Math.floor(rates.length / 2)];
  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');
  return [
    renderTable(
      [
        { header: 'file', align: 'left' },
        { header: 'runs', align: 'right' },
        { header: 'min MB/s', align: 'right' },
        { header: 'median MB/s', align: 'right' },
        { header: 'max MB/s', align: 'right' },
        { header: 'page memory peak MB', align: 'right' },
        { header: 'bytes equal', align: 'left' },
      ],
      [
        [
          `${(result.bytes / 1e6).toFixed(0)} MB`,
          String(rates.length),
          rates[0].toFixed(1),
          median.toFixed(1),
          rates.at(-1)!.toFixed(1),
          (result.peakHeapBytes / 1e6).toFixed(0),
          result.verified ? 'yes' : 'NO',
        ],
      ],
      markdown,
    ),
    '',
    `Load average before ${load(result.loadBefore)}, after ${load(result.loadAfter)}. MB = 10^6 bytes; each run is the click to the whole file on disk; page memory = its JS heap, the embedder's heap and ArrayBuffers' backing stores (Runtime.getHeapUsage), the largest of samples every 100 ms.`,
  ].join('\n');
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: { runs: { type: 'string', default: '3' }, size: { type: 'string', default: '200M' } },
  });
  const result = await runBrowserRestore({ runs: Number(values.runs), bytes: parseSize(values.size) });
  console.log(renderBrowserRestore(result, false));
  if (!result.verified) process.exitCode = 1;
}
