/**
 * The per-account repository API ("Wire format" in docs/format.md): the engine's
 * Repository port over HTTP, and Manage Storage. Every route acts on the caller's account
 * only; IDs of another account's blobs, packs, snapshots or devices are simply not there
 * (404). Two routes carry raw bytes and are registered by hand with these definitions:
 * pack upload (request body `application/octet-stream`) and blob reads (response body
 * `application/octet-stream`, see BLOB_FRAME).
 */
import { type Static, Type } from 'typebox';
import { BLOB_PROBLEMS, type BlobRead } from '../core/blob-read.ts';
import { CumulusError } from '../core/errors.ts';
import { Count, Id, Ok, RepositoryConfig } from './common.ts';
import { endpoint } from './endpoint.ts';

/** HexId is a blob, pack or snapshot ID: 32 bytes as 64 lowercase hex characters. */
export const HexId = Type.String({ pattern: '^[0-9a-f]{64}$' });
/** SourceId is an opaque source ID (HMAC of host and path), hex. */
export const SourceId = Type.String({ pattern: '^([0-9a-f]{2}){1,32}$' });

/** MAX_IDS is the most IDs one missing-blobs or read-blobs request may carry. */
export const MAX_IDS = 10_000;
/** MAX_PACK_BYTES is the largest pack an upload may carry (packs are about 16 MiB). */
export const MAX_PACK_BYTES = 64 << 20;
/**
 * MAX_COMMIT_BYTES is the largest commit body (else 413 `too_large`): refs of about 1.5
 * million blobs in base64, so one commit holds at most ~64 MiB of JSON in server memory.
 */
export const MAX_COMMIT_BYTES = 64 << 20;
/**
 * BLOB_FRAME describes the read-blobs response: for each blob answered, its 32-byte ID,
 * a status byte (0: found; 1 + the index of its code in BLOB_PROBLEMS: not readable), a
 * 4-byte big-endian length, then that many bytes: the sealed blob, or for a problem the
 * UTF-8 JSON `{reason, packId?}`.
 */
export const BLOB_FRAME = { idBytes: 32, statusBytes: 1, lengthBytes: 4 } as const;
const FRAME_HEADER = BLOB_FRAME.idBytes + BLOB_FRAME.statusBytes + BLOB_FRAME.lengthBytes;
/**
 * MAX_READ_ANSWER_BYTES bounds a read-blobs answer: the server stops once it has sent
 * this much (it always answers at least one ID), and the client asks again for the IDs
 * not answered. An answer is at most this plus one pack run (8 MiB) or one blob.
 */
export const MAX_READ_ANSWER_BYTES = 16 << 20;

/** blobFrame returns one entry of a read-blobs answer as its header and payload (the sealed bytes are not copied). */
export function blobFrame(id: string, read: BlobRead): [Buffer, Buffer] {
  const payload = read.ok
    ? read.bytes
    : Buffer.from(JSON.stringify({ reason: read.reason, packId: read.packId }), 'utf8');
  const header = Buffer.allocUnsafe(FRAME_HEADER);
  header.write(id, 0, BLOB_FRAME.idBytes, 'hex');
  header.writeUInt8(read.ok ? 0 : 1 + BLOB_PROBLEMS.indexOf(read.code), BLOB_FRAME.idBytes);
  header.writeUInt32BE(payload.length, BLOB_FRAME.idBytes + BLOB_FRAME.statusBytes);
  return [header, payload];
}

function cutShort(): CumulusError {
  return new CumulusError('network', 'the blobs the server sent were cut short', {
    hint: 'the connection dropped; try again',
  });
}

/**
 * unframeBlobs reads a read-blobs answer (BLOB_FRAME); the sealed bytes are views into
 * `framed`. An answer cut short is 'network' (ask again); an unknown status byte or
 * problem payload is 'update_required' (a newer server).
 */
export function unframeBlobs(framed: Buffer): Map<string, BlobRead> {
  const blobs = new Map<string, BlobRead>();
  let offset = 0;
  while (offset < framed.length) {
    if (offset + FRAME_HEADER > framed.length) throw cutShort();
    const id = framed.toString('hex', offset, offset + BLOB_FRAME.idBytes);
    const status = framed.readUInt8(offset + BLOB_FRAME.idBytes);
    const length = framed.readUInt32BE(offset + BLOB_FRAME.idBytes + BLOB_FRAME.statusBytes);
    const start = offset + FRAME_HEADER;
    if (start + length > framed.length) throw cutShort();
    const payload = framed.subarray(start, start + length);
    blobs.set(id, status === 0 ? { ok: true, bytes: payload } : problemOf(status, payload));
    offset = start + length;
  }
  return blobs;
}

function problemOf(status: number, payload: Buffer): BlobRead {
  const code = BLOB_PROBLEMS[status - 1];
  let body: { reason?: unknown; packId?: unknown } | undefined;
  try {
    body = JSON.parse(payload.toString('utf8')) as typeof body;
  } catch {
    body = undefined;
  }
  if (code === undefined || typeof body?.reason !== 'string') {
    throw new CumulusError(
      'update_required',
      `the server answered a blob read with unknown status ${status}`,
      {
        hint: 'update Cumulus on this device',
      },
    );
  }
  return typeof body.packId === 'string'
    ? { ok: false, code, reason: body.reason, packId: body.packId }
    : { ok: false, code, reason: body.reason };
}

const IdList = Type.Array(HexId, { minItems: 0, maxItems: MAX_IDS });

export const SourceRecord = Type.Object({
  id: SourceId,
  tree: HexId,
  logicalSize: Count,
});

export const SnapshotRecord = Type.Object({
  id: HexId,
  time: Type.String(),
  /** The device that made the snapshot. */
  device: Type.String(),
  /** Its current name ("" when the device was removed but its backups kept). */
  deviceName: Type.String(),
  sources: Type.Array(SourceRecord),
});
export type SnapshotRecordOut = Static<typeof SnapshotRecord>;

/**
 * SourceCommit carries a source's references compactly: `refs` is base64 of the
 * concatenated 32-byte blob IDs (43 bytes of JSON per ID instead of 67).
 */
export const SourceCommit = Type.Object({
  id: SourceId,
  tree: HexId,
  logicalSize: Count,
  refs: Type.String({ pattern: '^[A-Za-z0-9+/]*={0,2}$' }),
});

export const SnapshotCommit = Type.Object({
  id: HexId,
  time: Type.String({ format: 'date-time' }),
  sources: Type.Array(SourceCommit, { minItems: 1, maxItems: 1000 }),
});
export type SnapshotCommit = Static<typeof SnapshotCommit>;

export const getConfig = endpoint({
  method: 'GET',
  url: '/api/repo/config',
  summary: "The account repository's plaintext config (chunker parameters, ID)",
  tag: 'repository',
  access: 'session',
  backup: true,
  response: RepositoryConfig,
});

export const missingBlobs = endpoint({
  method: 'POST',
  url: '/api/repo/blobs/missing',
  summary: 'Which of these blob IDs the account lacks; the ones it holds are touched (kept from GC)',
  tag: 'repository',
  access: 'session',
  backup: true,
  body: Type.Object({ ids: IdList }),
  response: Type.Object({ missing: Type.Array(HexId) }),
});

/** encodeIds packs hex blob IDs as base64 of their concatenated 32 bytes (refs, the blob index). */
export function encodeIds(ids: readonly string[]): string {
  const bytes = Buffer.allocUnsafe(ids.length * 32);
  for (const [i, id] of ids.entries()) bytes.write(id, i * 32, 'hex');
  return bytes.toString('base64');
}

/** decodeIds turns base64 of concatenated 32-byte IDs back into hex IDs. */
export function decodeIds(base64: string): string[] {
  const bytes = Buffer.from(base64, 'base64');
  if (bytes.length % 32 !== 0) {
    throw new CumulusError('invalid_input', 'IDs must be whole 32-byte blob IDs in base64');
  }
  const ids: string[] = [];
  for (let offset = 0; offset < bytes.length; offset += 32)
    ids.push(bytes.toString('hex', offset, offset + 32));
  return ids;
}

/** INDEX_PAGE is the most blob IDs one blob-index answer carries (3.2 MB of IDs). */
export const INDEX_PAGE = 100_000;

export const blobIndex = endpoint({
  method: 'GET',
  url: '/api/repo/blobs/index',
  summary:
    "The account's blob IDs indexed after a cursor (base64 of 32-byte IDs), for a device's cache of the index; a new generation (after gc) voids older cursors",
  tag: 'repository',
  access: 'session',
  backup: true,
  query: Type.Object({ since: Count }),
  response: Type.Object({
    generation: Type.String({ pattern: '^[0-9a-f]{32}$' }),
    cursor: Count,
    ids: Type.String({ pattern: '^[A-Za-z0-9+/]*={0,2}$' }),
    complete: Type.Boolean(),
  }),
});

/**
 * readBlobs answers with BLOB_FRAME bytes, not JSON (`response` documents only the error
 * shape): one entry per ID answered, found or not, until MAX_READ_ANSWER_BYTES.
 */
export const readBlobs = endpoint({
  method: 'POST',
  url: '/api/repo/blobs/read',
  summary:
    'Sealed bytes of these blobs, or why one cannot be read, framed (ID, status, length, bytes); ask again for IDs not answered',
  tag: 'repository',
  access: 'session',
  backup: true,
  body: Type.Object({ ids: IdList }),
  response: Type.Unknown(),
});

/** uploadPack takes the pack's bytes as `application/octet-stream`; `:packId` is their SHA-256. */
export const uploadPack = endpoint({
  method: 'PUT',
  url: '/api/repo/packs/:packId',
  summary: 'Upload a pack (raw bytes, verified against its SHA-256 ID); idempotent; 507 over quota',
  tag: 'repository',
  access: 'session',
  backup: true,
  params: Type.Object({ packId: HexId }),
  response: Type.Object({ ok: Type.Literal(true), storedBytes: Count }),
});

export const commitSnapshot = endpoint({
  method: 'POST',
  url: '/api/repo/snapshots',
  summary: "Commit a snapshot of the calling device, atomically and within the plan's quota (else 507)",
  tag: 'repository',
  access: 'session',
  backup: true,
  body: SnapshotCommit,
  response: Type.Object({ ok: Type.Literal(true), usedBytes: Count }),
});

export const listSnapshots = endpoint({
  method: 'GET',
  url: '/api/repo/snapshots',
  summary: "The account's snapshots (every device's, or only the caller's with ?device=self)",
  tag: 'repository',
  access: 'session',
  backup: true,
  query: Type.Object({ device: Type.Optional(Type.Union([Type.Literal('self'), Type.Literal('all')])) }),
  response: Type.Object({ snapshots: Type.Array(SnapshotRecord) }),
});

export const forgetSnapshots = endpoint({
  method: 'POST',
  url: '/api/repo/snapshots/forget',
  summary:
    'Forget snapshots of the account (404 if one is not there); returns the bytes no longer referenced',
  tag: 'repository',
  access: 'session',
  backup: true,
  body: Type.Object({ ids: Type.Array(HexId, { minItems: 1, maxItems: MAX_IDS }) }),
  response: Type.Object({ ok: Type.Literal(true), freedBytes: Count }),
});

export const Usage = Type.Object({
  referencedBytes: Count,
  totalPackBytes: Count,
  logicalBytes: Count,
  packs: Count,
  blobs: Count,
  referencedBlobs: Count,
  snapshots: Count,
});

export const getUsage = endpoint({
  method: 'GET',
  url: '/api/repo/usage',
  summary: "The account repository's stored, referenced and logical bytes",
  tag: 'repository',
  access: 'session',
  response: Usage,
});

const WriteSessionParams = Type.Object({ sessionId: Type.String({ pattern: '^[0-9a-f]{32}$' }) });

export const beginWrite = endpoint({
  method: 'POST',
  url: '/api/repo/sessions',
  summary:
    'Begin a write session: GC keeps every blob touched after it began until release or 10 minutes without heartbeat',
  tag: 'repository',
  access: 'session',
  backup: true,
  response: Type.Object({ sessionId: Type.String(), heartbeatSeconds: Type.Integer() }),
});

export const heartbeatWrite = endpoint({
  method: 'PUT',
  url: '/api/repo/sessions/:sessionId',
  summary: 'Keep a write session alive',
  tag: 'repository',
  access: 'session',
  backup: true,
  params: WriteSessionParams,
  response: Ok,
});

export const releaseWrite = endpoint({
  method: 'DELETE',
  url: '/api/repo/sessions/:sessionId',
  summary: 'End a write session (an unknown one is already gone: ok)',
  tag: 'repository',
  access: 'session',
  params: WriteSessionParams,
  response: Ok,
});

export const SourceUsage = Type.Object({
  id: SourceId,
  logicalSize: Count,
  storedBytes: Count,
  /** What deleting this source frees, exactly. */
  exclusiveBytes: Count,
  /** Stored bytes it shares with other sources or devices. */
  sharedBytes: Count,
  snapshots: Count,
  latestTime: Type.String(),
});

export const DeviceUsage = Type.Object({
  deviceId: Type.String(),
  deviceName: Type.String(),
  current: Type.Boolean(),
  logicalSize: Count,
  storedBytes: Count,
  exclusiveBytes: Count,
  snapshots: Count,
  sources: Type.Array(SourceUsage),
});

export const StorageReport = Type.Object({
  usedBytes: Count,
  quotaBytes: Count,
  devices: Type.Array(DeviceUsage),
});
export type StorageReport = Static<typeof StorageReport>;

export const getStorage = endpoint({
  method: 'GET',
  url: '/api/storage',
  summary: 'Manage Storage: logical, stored and exclusive bytes per device and source',
  tag: 'storage',
  access: 'session',
  response: StorageReport,
});

/** Confirm must be literally true: a delete is never implied. */
const Confirm = Type.Literal(true, { description: 'must be true: the owner confirmed the delete' });

export const DeleteResult = Type.Object({
  /** Bytes usage fell by (what the storage view promised). */
  freedBytes: Count,
  usedBytes: Count,
});

export const deleteSource = endpoint({
  method: 'POST',
  url: '/api/storage/delete-source',
  summary: "Delete one source's data from every backup of a device, then collect garbage",
  tag: 'storage',
  access: 'session',
  body: Type.Object({ deviceId: Id, sourceId: SourceId, confirm: Confirm }),
  response: DeleteResult,
});

export const deleteDeviceBackups = endpoint({
  method: 'POST',
  url: '/api/storage/delete-device',
  summary: "Delete a device's whole backup, then collect garbage",
  tag: 'storage',
  access: 'session',
  body: Type.Object({ deviceId: Id, confirm: Confirm }),
  response: DeleteResult,
});
