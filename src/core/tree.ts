/**
 * Tree blobs: one directory's entries as UTF-8 JSON (docs/format.md, "Trees"). Encoding
 * is deterministic (fixed key order, entries sorted by the UTF-8 bytes of their names),
 * so an unchanged directory encodes to the same blob and deduplicates. Decoding trusts
 * nothing: a name that could lead a restore outside its target is damage.
 */
import { CumulusError } from './errors.ts';
import { hasFields, isBlobId, isCount, isRecord, isText, parseJsonBytes } from './json-fields.ts';

interface EntryBase {
  /** One path component: any Unicode except '/' and NUL, and never '', '.' or '..'. */
  name: string;
  /** Permission bits, `st_mode & 0o7777`. */
  mode: number;
  /** Modification time in nanoseconds since the epoch, as a decimal string. */
  mtimeNs: string;
}

/** FileEntry is a regular file: its size and the data blobs that hold its content, in order. */
export interface FileEntry extends EntryBase {
  type: 'file';
  /** Change time in nanoseconds, decimal: only to tell whether the file changed. */
  ctimeNs: string;
  /** Inode number, decimal: only to tell whether the file changed. */
  ino: string;
  size: number;
  chunks: string[];
}

/** DirEntry is a directory: the ID of its own tree blob. */
export interface DirEntry extends EntryBase {
  type: 'dir';
  tree: string;
}

/** SymlinkEntry is a symbolic link and the path it points to, unchanged. */
export interface SymlinkEntry extends EntryBase {
  type: 'symlink';
  target: string;
}

export type TreeEntry = FileEntry | DirEntry | SymlinkEntry;

const TREE_VERSION = 1;
const INTEGER_NS = /^-?(0|[1-9][0-9]{0,24})$/;
const UNSIGNED = /^(0|[1-9][0-9]{0,24})$/;
const BASE_FIELDS = ['name', 'type', 'mode', 'mtimeNs'];
const FIELDS_OF = {
  file: [...BASE_FIELDS, 'ctimeNs', 'ino', 'size', 'chunks'],
  dir: [...BASE_FIELDS, 'tree'],
  symlink: [...BASE_FIELDS, 'target'],
} as const;

/** isSafeName is true for a name restore can create inside its target and nowhere else. */
function isSafeName(name: unknown): name is string {
  return isText(name) && name !== '' && name !== '.' && name !== '..' && !name.includes('/');
}

/** entryProblem returns why a value is not a valid tree entry, or undefined when it is one. */
function entryProblem(entry: unknown): string | undefined {
  if (!isRecord(entry)) return 'an entry is not an object';
  const kind = entry.type as keyof typeof FIELDS_OF;
  if (!Object.hasOwn(FIELDS_OF, kind)) return `unknown entry type ${JSON.stringify(entry.type)}`;
  if (!hasFields(entry, FIELDS_OF[kind])) return `a ${kind} entry has unexpected or missing fields`;
  if (!isSafeName(entry.name)) return `unsafe or invalid name ${JSON.stringify(entry.name)}`;
  const name = JSON.stringify(entry.name);
  if (!isCount(entry.mode) || entry.mode > 0o7777) return `bad mode on ${name}`;
  if (typeof entry.mtimeNs !== 'string' || !INTEGER_NS.test(entry.mtimeNs)) return `bad mtime on ${name}`;
  switch (kind) {
    case 'file':
      if (typeof entry.ctimeNs !== 'string' || !INTEGER_NS.test(entry.ctimeNs)) return `bad ctime on ${name}`;
      if (typeof entry.ino !== 'string' || !UNSIGNED.test(entry.ino)) return `bad inode on ${name}`;
      if (!isCount(entry.size)) return `bad size on ${name}`;
      if (!Array.isArray(entry.chunks) || !entry.chunks.every(isBlobId)) return `bad chunk list on ${name}`;
      return undefined;
    case 'dir':
      return isBlobId(entry.tree) ? undefined : `bad tree id on ${name}`;
    case 'symlink':
      return isText(entry.target) && entry.target !== '' ? undefined : `bad link target on ${name}`;
  }
}

/** canonicalEntry copies an entry with its fields in the one order the encoding uses. */
function canonicalEntry(entry: TreeEntry): TreeEntry {
  const { name, mode, mtimeNs } = entry;
  switch (entry.type) {
    case 'file':
      return {
        name,
        type: 'file',
        mode,
        mtimeNs,
        ctimeNs: entry.ctimeNs,
        ino: entry.ino,
        size: entry.size,
        chunks: entry.chunks,
      };
    case 'dir':
      return { name, type: 'dir', mode, mtimeNs, tree: entry.tree };
    case 'symlink':
      return { name, type: 'symlink', mode, mtimeNs, target: entry.target };
  }
}

/**
 * encodeTree returns the tree blob of a directory. Entries may come in any order; they
 * are sorted by the UTF-8 bytes of their names. Throws (a bug in the caller) on a
 * duplicate name or an invalid entry.
 */
export function encodeTree(entries: readonly TreeEntry[]): Buffer {
  const keyed = entries.map((entry) => {
    const problem = entryProblem(entry);
    if (problem !== undefined) throw new Error(`cannot encode tree: ${problem}`);
    return { key: Buffer.from(entry.name, 'utf8'), entry: canonicalEntry(entry) };
  });
  keyed.sort((a, b) => Buffer.compare(a.key, b.key));
  for (let i = 1; i < keyed.length; i++) {
    if (keyed[i - 1].key.equals(keyed[i].key))
      throw new Error(`cannot encode tree: duplicate name ${keyed[i].entry.name}`);
  }
  return Buffer.from(JSON.stringify({ v: TREE_VERSION, entries: keyed.map((k) => k.entry) }), 'utf8');
}

function damagedTree(reason: string): CumulusError {
  return new CumulusError('corrupt', `directory tree is damaged: ${reason}`, {
    hint: 'run `cumulus check` to see which snapshots depend on it',
  });
}

/** utf8Rank maps a UTF-16 code unit so that unit order is UTF-8 byte order: surrogates (code points above U+FFFF) go after U+E000–U+FFFF. */
function utf8Rank(unit: number): number {
  if (unit < 0xd800) return unit;
  return unit < 0xe000 ? unit + 0x2000 : unit - 0x800;
}

/**
 * compareUtf8 orders two well-formed names by their UTF-8 bytes without encoding them (no
 * Buffer, so the web console decodes trees with this module too; and faster than encoding).
 */
function compareUtf8(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return utf8Rank(x) - utf8Rank(y);
  }
  return a.length - b.length;
}

/**
 * decodeTree reads a tree blob and checks every field, the version, the order of
 * entries and that no name is unsafe. Anything wrong → CumulusError 'corrupt'.
 */
export function decodeTree(bytes: Uint8Array): TreeEntry[] {
  const parsed = parseJsonBytes(bytes);
  if (parsed === undefined) throw damagedTree('it is not UTF-8 JSON');
  const tree = parsed.value;
  if (!isRecord(tree) || !hasFields(tree, ['v', 'entries']))
    throw damagedTree('unexpected or missing fields');
  if (tree.v !== TREE_VERSION) throw damagedTree(`unsupported version ${JSON.stringify(tree.v)}`);
  if (!Array.isArray(tree.entries)) throw damagedTree('entries is not a list');
  let previous: string | undefined;
  for (const entry of tree.entries) {
    const problem = entryProblem(entry);
    if (problem !== undefined) throw damagedTree(problem);
    const key = (entry as TreeEntry).name;
    if (previous !== undefined && compareUtf8(previous, key) >= 0)
      throw damagedTree('entries are not sorted by name');
    previous = key;
  }
  return tree.entries as TreeEntry[];
}
