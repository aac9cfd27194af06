/**
 * Content generators for the benchmark corpus. Each one turns (key, size) into exactly
 * `size` bytes, streamed in chunks of at most ~1 MiB, and always the same bytes for the
 * same key: a file can be regenerated on its own, and a shorter file is a prefix of a
 * longer one with the same key.
 */
import { KeyStream, Prng } from './prng.ts';

/**
 * ContentKind names the kinds of bytes the corpus holds, by how well they compress. `code`
 * and `prose` are generated line by line; `source`, `docs` and `config` are assembled from
 * pools of such lines, ten times faster, for the source-tree corpus's tens of thousands of
 * files.
 */
export type ContentKind = 'code' | 'prose' | 'records' | 'random' | PoolName;

const CHUNK = 1 << 16;

/** Vocabulary is a fixed list of pseudo-words (built from syllables, the same on every run). */
export const vocabulary: readonly string[] = buildVocabulary(2000);

function buildVocabulary(count: number): string[] {
  const syllables = [
    'ka',
    'lo',
    'mi',
    're',
    'to',
    'sa',
    'ne',
    'vi',
    'du',
    'pa',
    'ri',
    'zo',
    'el',
    'an',
    'or',
    'ch',
    'st',
    'ex',
    'in',
    'qu',
    'be',
    'fo',
    'gu',
    'ha',
    'ti',
    'ly',
    'ra',
    'se',
    'co',
    'de',
    'ma',
    'nu',
  ];
  const prng = new Prng('vocabulary');
  const words = new Set<string>();
  while (words.size < count) {
    let word = '';
    const n = 1 + prng.skewed(4);
    for (let i = 0; i < n + 1; i++) word += prng.pick(syllables);
    words.add(word);
  }
  return [...words];
}

const keywords = [
  'const',
  'let',
  'return',
  'if',
  'else',
  'for',
  'await',
  'async',
  'function',
  'new',
  'import',
  'export',
  'type',
  'interface',
  'throw',
];
const types = [
  'string',
  'number',
  'boolean',
  'Buffer',
  'Uint8Array',
  'Promise<void>',
  'Map<string, number>',
  'unknown',
];
const operators = ['===', '!==', '<', '>', '<=', '>=', '+', '-', '*', '&&', '||'];

function word(prng: Prng): string {
  return vocabulary[prng.skewed(vocabulary.length)];
}

/** Locals are the identifiers one stretch of code keeps reusing, as real code does. */
const LOCALS = 24;

function identifier(prng: Prng, locals?: string[]): string {
  if (locals && prng.float() < 0.6) return locals[prng.skewed(locals.length)];
  const first = word(prng);
  if (prng.float() < 0.4) return first;
  const second = word(prng);
  return first + second[0].toUpperCase() + second.slice(1);
}

function sentence(prng: Prng, words: number, topic?: string[]): string {
  const parts: string[] = [];
  for (let i = 0; i < words; i++) parts.push(topic && prng.float() < 0.4 ? prng.pick(topic) : word(prng));
  parts[0] = parts[0][0].toUpperCase() + parts[0].slice(1);
  return parts.join(' ') + '.';
}

/** codeLine returns one line of TypeScript-looking source, indented by `depth`. */
function codeLine(prng: Prng, depth: number, locals: string[]): string {
  const indent = '  '.repeat(depth);
  const id = () => identifier(prng, locals);
  switch (prng.int(10)) {
    case 0:
      return `${indent}// ${sentence(prng, prng.range(3, 12))}`;
    case 1:
      return `${indent}if (${id()} ${prng.pick(operators)} ${prng.int(1000)}) {`;
    case 2:
      return `${indent}return ${id()}.${id()}(${id()});`;
    case 3:
      return `${indent}${prng.pick(keywords)} ${id()}: ${prng.pick(types)} = '${word(prng)}';`;
    case 4:
      return `${indent}function ${id()}(${id()}: ${prng.pick(types)}): ${prng.pick(types)} {`;
    case 5:
      return `${indent}}`;
    case 6:
      return `${indent}import { ${id()} } from './${word(prng)}.ts';`;
    case 7:
      return '';
    default:
      return `${indent}const ${id()} = ${id()}(${id()}, ${prng.int(100000)});`;
  }
}

function codeText(prng: Prng): string {
  const lines: string[] = [];
  let depth = 0;
  let length = 0;
  const locals = Array.from({ length: LOCALS }, () => identifier(prng));
  while (length < CHUNK) {
    const line = codeLine(prng, depth, locals);
    if (line.endsWith('{')) depth = Math.min(depth + 1, 6);
    else if (line.trim() === '}') depth = Math.max(depth - 1, 0);
    lines.push(line);
    length += line.length + 1;
  }
  return lines.join('\n') + '\n';
}

function proseText(prng: Prng): string {
  const paragraphs: string[] = [];
  let length = 0;
  const topic = Array.from({ length: LOCALS }, () => word(prng));
  while (length < CHUNK) {
    const paragraph =
      prng.float() < 0.15
        ? `## ${sentence(prng, prng.range(2, 6), topic)}`
        : Array.from({ length: prng.range(2, 8) }, () => sentence(prng, prng.range(5, 20), topic)).join(' ');
    paragraphs.push(paragraph);
    length += paragraph.length + 2;
  }
  return paragraphs.join('\n\n') + '\n\n';
}

const RECORD = 32;

interface RecordState {
  seq: number;
  time: number;
  value: number;
}

/**
 * recordChunk returns a block of fixed-size binary records, like a database or a log of
 * sensor readings: counters, timestamps and small enums compress well, the measured
 * values and random tokens do not, which lands near 2x.
 */
function recordChunk(prng: Prng, state: RecordState): Buffer {
  const buf = Buffer.alloc(CHUNK);
  for (let offset = 0; offset + RECORD <= CHUNK; offset += RECORD) {
    state.seq++;
    state.time += prng.int(2000);
    buf.writeUInt32LE(state.seq, offset);
    buf.writeUInt32LE(state.time >>> 0, offset + 4);
    buf.writeUInt8(prng.skewed(8), offset + 8);
    buf.writeUInt8(prng.skewed(4), offset + 9);
    buf.writeUInt16LE(prng.skewed(200), offset + 10);
    state.value = (state.value + prng.int(65536) - 32768) >>> 0;
    buf.writeUInt32LE(state.value, offset + 12);
    buf.writeUInt32LE(prng.uint32() & 0x00ff00ff, offset + 16);
    buf.write(vocabulary[prng.skewed(64)].slice(0, 12), offset + 20, 'latin1');
  }
  return buf;
}

/** PoolName names a pool of generated lines that files are assembled from. */
export type PoolName = 'source' | 'docs' | 'config';

const MODULE_LINES = 256;

/** LinePool holds MODULE_LINES lines (newline included) per module, one after another in `bytes`. */
interface LinePool {
  bytes: Buffer;
  /** starts[i] is where line i begins; starts[i + 1] where it ends. */
  starts: Uint32Array;
  modules: number;
}

function configLine(prng: Prng, depth: number, locals: string[]): string {
  const indent = '  '.repeat(depth);
  const key = identifier(prng, locals);
  switch (prng.int(6)) {
    case 0:
      return `${indent}"${key}": {`;
    case 1:
      return `${indent}},`;
    case 2:
      return `${indent}"${key}": ${prng.int(10000)},`;
    case 3:
      return `${indent}"${key}": ${prng.float() < 0.5 ? 'true' : 'false'},`;
    default:
      return `${indent}"${key}": "${word(prng)}${prng.float() < 0.3 ? `/${word(prng)}` : ''}",`;
  }
}

function docsLine(prng: Prng, _depth: number, topic: string[]): string {
  const u = prng.float();
  if (u < 0.12) return '';
  if (u < 0.17) return `${'#'.repeat(prng.range(1, 3))} ${sentence(prng, prng.range(2, 6), topic)}`;
  if (u < 0.27) return `- ${sentence(prng, prng.range(4, 12), topic)}`;
  return Array.from({ length: prng.range(1, 2) }, () => sentence(prng, prng.range(5, 12), topic)).join(' ');
}

/** Each pool's line maker and module count (~20 MB of code; docs and config are fewer files). */
const poolSpecs: Record<
  PoolName,
  { modules: number; make: (prng: Prng, depth: number, locals: string[]) => string }
> = {
  source: { modules: 2048, make: codeLine },
  docs: { modules: 256, make: docsLine },
  config: { modules: 512, make: configLine },
};

const pools = new Map<PoolName, LinePool>();

/**
 * linePool builds (once per process) the pool's modules, each a stretch of lines with its
 * own identifiers and nesting, as one file of real code would have.
 */
function linePool(name: PoolName): LinePool {
  const cached = pools.get(name);
  if (cached) return cached;
  const prng = new Prng(`pool:${name}`);
  const { modules, make } = poolSpecs[name];
  const text: string[] = [];
  for (let module = 0; module < modules; module++) {
    const locals = Array.from({ length: LOCALS }, () => identifier(prng));
    let depth = 0;
    for (let i = 0; i < MODULE_LINES; i++) {
      const line = make(prng, depth, locals);
      if (line.endsWith('{')) depth = Math.min(depth + 1, 6);
      else if (line.trim().startsWith('}')) depth = Math.max(depth - 1, 0);
      text.push(line);
    }
  }
  const bytes = Buffer.from(`${text.join('\n')}\n`, 'latin1');
  const starts = new Uint32Array(text.length + 1);
  for (let i = 0, at = 0; i < text.length; i++) {
    starts[i] = at;
    at += text[i].length + 1;
    starts[i + 1] = at;
  }
  const pool = { bytes, starts, modules };
  pools.set(name, pool);
  return pool;
}

/**
 * pooledContent assembles a file from runs of consecutive pool lines (sometimes skipping
 * one), its runs drawn from a few modules near a moving position: a file repeats itself
 * about as much as real code does, whatever its size, and never a whole other file.
 */
function* pooledContent(name: PoolName, key: string, size: number): Generator<Buffer> {
  const { bytes, starts, modules } = linePool(name);
  const lines = modules * MODULE_LINES;
  const prng = new Prng(`${name}:${key}`);
  const home = prng.int(modules);
  let emitted = 0;
  let line = 0;
  let run = 0;
  for (let left = size; left > 0; ) {
    const out = Buffer.allocUnsafe(Math.min(left, 1 << 20));
    for (let at = 0; at < out.length; ) {
      if (run === 0) {
        const module = (home + Math.floor(emitted / MODULE_LINES) + prng.int(3)) % modules;
        line = module * MODULE_LINES + prng.int(MODULE_LINES);
        run = prng.range(6, 40);
      }
      const index = line % lines;
      at += bytes.copy(out, at, starts[index], starts[index + 1]);
      line += prng.float() < 0.15 ? 2 : 1;
      run--;
      emitted++;
    }
    left -= out.length;
    yield out;
  }
}

/** generateContent yields exactly `size` bytes of the given kind for `key`. */
export function* generateContent(kind: ContentKind, key: string, size: number): Generator<Buffer> {
  if (size <= 0) return;
  if (kind === 'source' || kind === 'docs' || kind === 'config') {
    yield* pooledContent(kind, key, size);
    return;
  }
  if (kind === 'random') {
    const stream = new KeyStream(key);
    for (let left = size; left > 0; left -= 1 << 20) yield stream.next(Math.min(left, 1 << 20));
    return;
  }
  const prng = new Prng(`${kind}:${key}`);
  const state: RecordState = { seq: 0, time: prng.uint32() >>> 4, value: prng.uint32() };
  let left = size;
  while (left > 0) {
    const chunk =
      kind === 'records'
        ? recordChunk(prng, state)
        : Buffer.from(kind === 'code' ? codeText(prng) : proseText(prng), 'latin1');
    const part = chunk.length > left ? chunk.subarray(0, left) : chunk;
    left -= part.length;
    yield part;
  }
}

/** contentBytes returns the generated content as one buffer (for small files and tests). */
export function contentBytes(kind: ContentKind, key: string, size: number): Buffer {
  return Buffer.concat([...generateContent(kind, key, size)]);
}
