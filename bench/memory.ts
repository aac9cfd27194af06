/**
 * Memory benchmark: backs up one very large file (5 GiB by default) and a tree of very
 * many small files (1,000,000 by default) and reports each tool's peak RSS, to show that
 * memory does not grow with the data. The data sets live in `.bench/memory` and are
 * generated once (streamed, deterministic) and reused while their manifests match.
 */
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { workDir } from './paths.ts';
import { log } from './phases.ts';
import { KeyStream } from './prng.ts';
import { type Column, renderTable } from './table.ts';
import { type Measurement, makeTool, type ToolName } from './tools.ts';
import { fixed, formatSize, megabytes } from './units.ts';

/** MemoryOptions sizes the two data sets and chooses the tools. */
export interface MemoryOptions {
  tools: ToolName[];
  bigBytes: number;
  files: number;
  keepRepos: boolean;
}

/** MemoryResult is one tool's backup of one data set. */
export interface MemoryResult {
  dataset: string;
  tool: string;
  bytes: number;
  files: number;
  measurement?: Measurement;
  repoBytes?: number;
  error?: string;
  skipped?: string;
}

interface Dataset {
  name: string;
  root: string;
  bytes: number;
  files: number;
}

const memoryDir = `${workDir}/memory`;

/** reuse returns true when `root` and its manifest describe exactly `manifest`. */
function reuse(root: string, manifest: object): boolean {
  try {
    return existsSync(root) && readFileSync(`${root}.json`, 'utf8') === JSON.stringify(manifest);
  } catch {
    return false;
  }
}

function bigFile(bytes: number): Dataset {
  const root = `${memoryDir}/big`;
  const dataset = { name: `one ${formatSize(bytes)}B file`, root, bytes, files: 1 };
  const manifest = { version: 1, bytes };
  if (reuse(root, manifest)) return dataset;
  log(`memory: generating a ${formatSize(bytes)}B file …`);
  rmSync(`${root}.json`, { force: true });
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  const stream = new KeyStream('memory-big');
  const fd = openSync(`${root}/big.bin`, 'w');
  try {
    for (let left = bytes; left > 0; left -= 1 << 20) writeSync(fd, stream.next(Math.min(left, 1 << 20)));
  } finally {
    closeSync(fd);
  }
  writeFileSync(`${root}.json`, JSON.stringify(manifest));
  return dataset;
}

/**
 * manyFiles lays out `count` files of 0–2 KiB, 1,000 per folder, two folder levels deep.
 * Writes run 32 at a time: creating files is bound by system-call latency, not by the CPU.
 */
async function manyFiles(count: number): Promise<Dataset> {
  const root = `${memoryDir}/many`;
  const manifest = { version: 1, count };
  const sizeOf = (i: number) => Math.imul(i, 2654435761) >>> 21;
  let bytes = 0;
  for (let i = 0; i < count; i++) bytes += `file ${i}\n`.length + sizeOf(i);
  const dataset = { name: `${count.toLocaleString('en')} small files`, root, bytes, files: count };
  if (reuse(root, manifest)) return dataset;
  log(`memory: generating ${count} small files (once; reused afterwards) …`);
  rmSync(`${root}.json`, { force: true });
  rmSync(root, { recursive: true, force: true });
  const stream = new KeyStream('memory-many');
  let next = 0;
  const writer = async () => {
    while (next < count) {
      // Taking the index and drawing its bytes happen together, synchronously, so the stream is consumed in index order.
      const i = next++;
      const dir = `${root}/${Math.floor(i / 100_000)}/${Math.floor(i / 1000) % 100}`;
      if (i % 1000 === 0) mkdirSync(dir, { recursive: true });
      if (i > 0 && i % 100_000 === 0) log(`memory: ${i} files written`);
      await writeFile(
        `${dir}/f${i}.txt`,
        Buffer.concat([Buffer.from(`file ${i}\n`), stream.next(sizeOf(i))]),
      );
    }
  };
  await Promise.all(Array.from({ length: 32 }, writer));
  writeFileSync(`${root}.json`, JSON.stringify(manifest));
  return dataset;
}

/** runMemoryBench backs up each data set with each tool, in a fresh repository each time. */
export async function runMemoryBench(options: MemoryOptions): Promise<MemoryResult[]> {
  const datasets = [bigFile(options.bigBytes), await manyFiles(options.files)];
  const results: MemoryResult[] = [];
  for (const dataset of datasets) {
    for (const name of options.tools) {
      const tool = makeTool(name, { run: 'memory' });
      const base = { dataset: dataset.name, tool: tool.name, bytes: dataset.bytes, files: dataset.files };
      const missing = tool.missing();
      if (missing) {
        log(`${tool.name}: not available (${missing}); skipped`);
        results.push({ ...base, skipped: 'not available' });
        continue;
      }
      await tool.clean();
      log(`${tool.name}: backing up ${dataset.name} …`);
      try {
        await tool.init();
        const measurement = await tool.backup(dataset.root, 'memory');
        results.push({ ...base, measurement, repoBytes: tool.repoBytes() });
        log(
          `${tool.name}: ${measurement.wallSeconds.toFixed(1)} s, peak RSS ${fixed(megabytes(measurement.peakRssBytes), 1)} MB`,
        );
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        results.push({ ...base, error: message });
        log(`${tool.name}: FAILED — ${message.split('\n')[0]}`);
      } finally {
        if (!options.keepRepos) await tool.dropRepository();
      }
    }
  }
  return results;
}

/** renderMemory returns the memory table: one row per data set and tool, RSS compared with restic's. */
export function renderMemory(results: MemoryResult[], markdown: boolean): string {
  const columns: Column[] = [
    { header: 'data set', align: 'left' },
    { header: 'tool', align: 'left' },
    { header: 'wall s', align: 'right' },
    { header: 'MB/s', align: 'right' },
    { header: 'files/s', align: 'right' },
    { header: 'repo MB', align: 'right' },
    { header: 'peak RSS MB', align: 'right' },
    { header: 'RSS × restic', align: 'right' },
  ];
  const rows = results.map((result) => {
    const m = result.measurement;
    if (!m)
      return [
        result.dataset,
        result.tool,
        result.skipped ? `skipped: ${result.skipped}` : 'FAILED',
        '—',
        '—',
        '—',
        '—',
        '—',
      ];
    const restic = results.find(
      (other) => other.dataset === result.dataset && other.tool === 'restic',
    )?.measurement;
    return [
      result.dataset,
      result.tool,
      fixed(m.wallSeconds, 1),
      fixed(megabytes(result.bytes) / m.wallSeconds, 1),
      fixed(result.files / m.wallSeconds, 0),
      fixed(result.repoBytes === undefined ? undefined : megabytes(result.repoBytes), 1),
      fixed(megabytes(m.peakRssBytes), 1),
      restic ? `${(m.peakRssBytes / restic.peakRssBytes).toFixed(2)}×` : '—',
    ];
  });
  return renderTable(columns, rows, markdown);
}
