/**
 * Snapshot blobs: what one backup saved, when, from where, and how it went
 * (docs/format.md, "Snapshots"). Encrypted like every blob, so paths and host names
 * stay private; the snapshot's ID is its blob ID.
 */
import { CumulusError } from './errors.ts';
import {
  hasFields,
  isBlobId,
  isCount,
  isLowerHex,
  isRecord,
  isText,
  isTimestamp,
  parseJsonBytes,
} from './json-fields.ts';

/** SnapshotSource is one backed-up path: its opaque source ID (16 bytes hex) and root tree. */
export interface SnapshotSource {
  id: string;
  path: string;
  tree: string;
}

/** SnapshotSummary counts what the backup did; every field is a whole number. */
export interface SnapshotSummary {
  filesNew: number;
  filesChanged: number;
  filesUnchanged: number;
  dirs: number;
  bytesRead: number;
  bytesAdded: number;
  logicalBytes: number;
  durationMs: number;
}

/** SnapshotInfo is the content of a snapshot blob. */
export interface SnapshotInfo {
  v: 1;
  /** ISO 8601 time the backup started. */
  time: string;
  host: string;
  user: string;
  tags: string[];
  /** The snapshot this one was compared against, or null for a first backup. */
  parent: string | null;
  sources: SnapshotSource[];
  summary: SnapshotSummary;
}

const SNAPSHOT_FIELDS = ['v', 'time', 'host', 'user', 'tags', 'parent', 'sources', 'summary'] as const;
const SOURCE_FIELDS = ['id', 'path', 'tree'] as const;
const SUMMARY_FIELDS = [
  'filesNew',
  'filesChanged',
  'filesUnchanged',
  'dirs',
  'bytesRead',
  'bytesAdded',
  'logicalBytes',
  'durationMs',
] as const;
const SOURCE_ID_BYTES = 16;

function sourceProblem(source: unknown): string | undefined {
  if (!isRecord(source) || !hasFields(source, SOURCE_FIELDS))
    return 'a source has unexpected or missing fields';
  if (!isLowerHex(source.id, SOURCE_ID_BYTES)) return 'a source has a bad id';
  if (!isText(source.path) || source.path === '') return 'a source has a bad path';
  if (!isBlobId(source.tree)) return 'a source has a bad tree id';
  return undefined;
}

/** snapshotProblem returns why a value is not a valid SnapshotInfo, or undefined when it is one. */
function snapshotProblem(value: unknown): string | undefined {
  if (!isRecord(value) || !hasFields(value, SNAPSHOT_FIELDS)) return 'unexpected or missing fields';
  if (value.v !== 1) return `unsupported version ${JSON.stringify(value.v)}`;
  if (!isTimestamp(value.time)) return 'bad time';
  if (!isText(value.host) || !isText(value.user)) return 'bad host or user';
  if (!Array.isArray(value.tags) || !value.tags.every(isText)) return 'bad tags';
  if (value.parent !== null && !isBlobId(value.parent)) return 'bad parent';
  if (!Array.isArray(value.sources)) return 'sources is not a list';
  for (const source of value.sources) {
    const problem = sourceProblem(source);
    if (problem !== undefined) return problem;
  }
  if (new Set(value.sources.map((s: SnapshotSource) => s.id)).size !== value.sources.length)
    return 'duplicate source';
  const summary = value.summary;
  if (!isRecord(summary) || !hasFields(summary, SUMMARY_FIELDS))
    return 'summary has unexpected or missing fields';
  if (!SUMMARY_FIELDS.every((field) => isCount(summary[field]))) return 'summary has a bad count';
  return undefined;
}

/**
 * encodeSnapshot returns the snapshot blob, fields in a fixed order. Throws (a bug in
 * the caller) when `info` is not valid.
 */
export function encodeSnapshot(info: SnapshotInfo): Buffer {
  const problem = snapshotProblem(info);
  if (problem !== undefined) throw new Error(`cannot encode snapshot: ${problem}`);
  const canonical: SnapshotInfo = {
    v: 1,
    time: info.time,
    host: info.host,
    user: info.user,
    tags: info.tags,
    parent: info.parent,
    sources: info.sources.map(({ id, path, tree }) => ({ id, path, tree })),
    summary: {
      filesNew: info.summary.filesNew,
      filesChanged: info.summary.filesChanged,
      filesUnchanged: info.summary.filesUnchanged,
      dirs: info.summary.dirs,
      bytesRead: info.summary.bytesRead,
      bytesAdded: info.summary.bytesAdded,
      logicalBytes: info.summary.logicalBytes,
      durationMs: info.summary.durationMs,
    },
  };
  return Buffer.from(JSON.stringify(canonical), 'utf8');
}

/** decodeSnapshot reads a snapshot blob and checks every field. Anything wrong → CumulusError 'corrupt'. */
export function decodeSnapshot(bytes: Uint8Array): SnapshotInfo {
  const parsed = parseJsonBytes(bytes);
  const problem = parsed === undefined ? 'it is not UTF-8 JSON' : snapshotProblem(parsed.value);
  if (problem !== undefined) {
    throw new CumulusError('corrupt', `snapshot is damaged: ${problem}`, {
      hint: 'forget this snapshot (cumulus forget ID); the others are not affected',
    });
  }
  return (parsed as { value: SnapshotInfo }).value;
}
