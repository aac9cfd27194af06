/**
 * computeBreakdown turns snapshots, their sources' reference sets and blob sizes into
 * "Manage Storage": per device and per source, stored bytes (each blob once) and exclusive
 * bytes (referenced by that source or device only: what deleting it frees).
 *
 * A snapshot's own blob counts as referenced by every source of that snapshot: deleting
 * the last source of a snapshot removes the snapshot, and so frees its blob too.
 */
import type { DeviceUsage, SourceUsage, StorageBreakdown } from './types.ts';

export interface BreakdownInput {
  snapshots: { row: number; device: string; time: string; blobRow: number }[];
  sources: { snapshotRow: number; sourceId: string; logicalSize: number; refset: number }[];
  /** refsetRows returns the blob rows of one reference set. */
  refsetRows(refset: number): readonly number[];
  /** lengths[row] is the stored length of a referenced blob. */
  lengths: ArrayLike<number>;
}

const SHARED = -1;

interface Owner {
  refsets: Set<number>;
  snapshotBlobs: Set<number>;
}

/**
 * markOwners records, for each blob row, which single owner references it (index + 1),
 * or SHARED when several do.
 */
function markOwners(
  owners: Owner[],
  size: number,
  extraShared: readonly number[],
  rowsOf: (r: number) => readonly number[],
) {
  const marks = new Int32Array(size);
  const mark = (row: number, owner: number) => {
    const current = marks[row];
    if (current === 0) marks[row] = owner;
    else if (current !== owner) marks[row] = SHARED;
  };
  owners.forEach((owner, index) => {
    for (const refset of owner.refsets) for (const row of rowsOf(refset)) mark(row, index + 1);
    for (const row of owner.snapshotBlobs) mark(row, index + 1);
  });
  for (const row of extraShared) marks[row] = SHARED;
  return marks;
}

/** totals sums an owner's stored bytes (each row once) and the bytes only it references. */
function totals(
  owner: Owner,
  ownerMark: number,
  marks: Int32Array,
  seen: Int32Array,
  lengths: ArrayLike<number>,
  rowsOf: (r: number) => readonly number[],
) {
  let storedBytes = 0;
  let exclusiveBytes = 0;
  const count = (row: number) => {
    if (seen[row] === ownerMark) return;
    seen[row] = ownerMark;
    storedBytes += lengths[row];
    if (marks[row] === ownerMark) exclusiveBytes += lengths[row];
  };
  for (const refset of owner.refsets) for (const row of rowsOf(refset)) count(row);
  for (const row of owner.snapshotBlobs) count(row);
  return { storedBytes, exclusiveBytes };
}

export function computeBreakdown(input: BreakdownInput): StorageBreakdown {
  const size = input.lengths.length;
  // Decoded again on each pass rather than cached: decoding is cheap, millions of rows are not.
  const rowsOf = input.refsetRows;

  const snapshots = new Map(input.snapshots.map((s) => [s.row, { ...s, sources: 0 }]));
  const devices = new Map<string, Owner & { snapshots: number; keys: string[] }>();
  const sources = new Map<
    string,
    Owner & { device: string; id: string; latest: string; logicalSize: number; snapshots: number }
  >();
  for (const snapshot of snapshots.values()) {
    let device = devices.get(snapshot.device);
    if (device === undefined) {
      device = { refsets: new Set(), snapshotBlobs: new Set(), snapshots: 0, keys: [] };
      devices.set(snapshot.device, device);
    }
    device.snapshots++;
    device.snapshotBlobs.add(snapshot.blobRow);
  }
  for (const source of input.sources) {
    const snapshot = snapshots.get(source.snapshotRow);
    if (snapshot === undefined) throw new Error(`source of unknown snapshot row ${source.snapshotRow}`);
    snapshot.sources++;
    const key = `${snapshot.device}\0${source.sourceId}`;
    let owner = sources.get(key);
    if (owner === undefined) {
      owner = {
        refsets: new Set(),
        snapshotBlobs: new Set(),
        device: snapshot.device,
        id: source.sourceId,
        latest: '',
        logicalSize: 0,
        snapshots: 0,
      };
      sources.set(key, owner);
      devices.get(snapshot.device)!.keys.push(key);
    }
    owner.refsets.add(source.refset);
    owner.snapshotBlobs.add(snapshot.blobRow);
    owner.snapshots++;
    devices.get(snapshot.device)!.refsets.add(source.refset);
    if (snapshot.time >= owner.latest) {
      owner.latest = snapshot.time;
      owner.logicalSize = source.logicalSize;
    }
  }
  // A snapshot with no source at all is freed by no source's deletion.
  const sourceless = [...snapshots.values()].filter((s) => s.sources === 0).map((s) => s.blobRow);

  const sourceOwners = [...sources.values()];
  const deviceOwners = [...devices.values()];
  const sourceMarks = markOwners(sourceOwners, size, sourceless, rowsOf);
  const deviceMarks = markOwners(deviceOwners, size, [], rowsOf);
  const seen = new Int32Array(size);

  const sourceUsage = new Map<string, SourceUsage>();
  sourceOwners.forEach((owner, index) => {
    const key = `${owner.device}\0${owner.id}`;
    sourceUsage.set(key, {
      id: owner.id,
      logicalSize: owner.logicalSize,
      ...totals(owner, index + 1, sourceMarks, seen, input.lengths, rowsOf),
      snapshots: owner.snapshots,
      latestTime: owner.latest,
    });
  });
  seen.fill(0);
  const result: DeviceUsage[] = [];
  [...devices.entries()].forEach(([name, owner], index) => {
    const sourcesOfDevice = owner.keys
      .map((key) => sourceUsage.get(key)!)
      .sort((a, b) => b.storedBytes - a.storedBytes || (a.id < b.id ? -1 : 1));
    result.push({
      device: name,
      logicalSize: sourcesOfDevice.reduce((sum, s) => sum + s.logicalSize, 0),
      ...totals(owner, index + 1, deviceMarks, seen, input.lengths, rowsOf),
      snapshots: owner.snapshots,
      sources: sourcesOfDevice,
    });
  });
  // Every referenced row is marked by the device that references it, shared or not.
  let referencedBytes = 0;
  for (let row = 0; row < size; row++) if (deviceMarks[row] !== 0) referencedBytes += input.lengths[row];
  result.sort((a, b) => (a.device < b.device ? -1 : a.device > b.device ? 1 : 0));
  return { referencedBytes, devices: result };
}
