/**
 * The checker: proves a repository can restore every snapshot. It checks every pack the
 * index names (with --read-data: every byte, against the pack's SHA-256, and its table),
 * decrypts every tree of every snapshot, and makes sure every blob they reference is
 * stored. Damage is traced to the snapshots and files that depend on it.
 */
import { isCumulusError } from '../core/errors.ts';
import { openBlob } from '../core/seal.ts';
import { decodeSnapshot } from '../core/snapshot.ts';
import { BlobPool } from './blob-pool.ts';
import {
  type BlobReader,
  type Maintenance,
  type PackCheck,
  type PackIngest,
  type SnapshotIndex,
  sealedBytes,
} from './repository.ts';
import type { UnlockedRepository } from './unlocked-repository.ts';

export interface DamagedPack {
  packId: string;
  problem: string;
  /** Snapshots (short IDs) with at least one file or tree in this pack. */
  snapshots: string[];
  /** Files that cannot be restored because of it, as `<source path>/<relative path>`. */
  files: string[];
}

export interface CheckReport {
  ok: boolean;
  packsChecked: number;
  snapshotsChecked: number;
  treesChecked: number;
  damagedPacks: DamagedPack[];
  /** Other problems in plain words: unreadable snapshots or trees, missing blobs. */
  errors: string[];
}

interface Damage {
  /** Relative path of the file or directory that depends on a bad blob. */
  path: string;
  blob: string;
}

/**
 * damagedBlobs narrows a damaged pack down to the blobs that really are damaged: with the
 * key every blob can be opened and verified on its own, so one flipped byte costs one
 * chunk, not everything that shares its pack.
 */
async function damagedBlobs(vault: UnlockedRepository<BlobReader>, ids: string[]): Promise<string[]> {
  const bad: string[] = [];
  for (const [id, read] of await vault.repo.readBlobs(ids)) {
    try {
      openBlob(vault.keys, id, sealedBytes(id, read));
    } catch (error) {
      if (!isCumulusError(error)) throw error;
      bad.push(id);
    }
  }
  return bad;
}

/**
 * openEveryBlob opens every blob of the packs that passed (check --read-data) on the blob
 * pool, a pack per job: a pack whose bytes match its hash can still hold a blob sealed
 * wrong, which only the key reveals. Such a pack is marked damaged.
 */
async function openEveryBlob(vault: UnlockedRepository<BlobReader>, packs: PackCheck[]): Promise<void> {
  const pool = new BlobPool(vault.keys);
  const running = new Set<Promise<void>>();
  const openPack = async (pack: PackCheck) => {
    const problems: string[] = [];
    const sealed = new Map<string, Uint8Array>();
    for (const [id, read] of await vault.repo.readBlobs(pack.blobs)) {
      if (read.ok) sealed.set(id, read.bytes);
      else problems.push(read.reason);
    }
    problems.push(...(await pool.verify(sealed)).values());
    if (problems.length === 0) return;
    pack.ok = false;
    pack.problem = problems.length === 1 ? problems[0] : `${problems[0]} (and ${problems.length - 1} more)`;
  };
  try {
    for (const pack of packs) {
      if (!pack.ok || pack.blobs.length === 0) continue;
      // Two packs per worker in flight: one being read, one being opened.
      while (running.size >= 2 * pool.workers) await Promise.race(running);
      const job = openPack(pack).finally(() => running.delete(job));
      running.add(job);
    }
    await Promise.all(running);
  } finally {
    await pool.close();
  }
}

/** CheckedRepository is what the checker needs of a repository: a folder's, which checks its own packs. */
export type CheckedRepository = BlobReader &
  SnapshotIndex &
  Pick<PackIngest, 'missingBlobs'> &
  Pick<Maintenance, 'checkPacks'>;

export async function check(
  vault: UnlockedRepository<CheckedRepository>,
  options: { readData: boolean; onProgress?: (message: string) => void },
): Promise<CheckReport> {
  const errors: string[] = [];
  options.onProgress?.(options.readData ? 'reading every pack' : 'checking packs');
  const packs = await vault.repo.checkPacks({ readData: options.readData });
  if (options.readData) await openEveryBlob(vault, packs);
  const badPacks = packs.filter((p) => !p.ok);
  const packOfBadBlob = new Map<string, string>();
  for (const pack of badPacks) {
    for (const blob of await damagedBlobs(vault, pack.blobs)) packOfBadBlob.set(blob, pack.packId);
  }

  const records = await vault.repo.listSnapshots();
  const referenced = new Set<string>();
  const damageByTree = new Map<string, Damage[]>();
  let treesChecked = 0;

  /** damageUnder returns every damaged file or tree below a tree, memoised: snapshots share most trees. */
  const damageUnder = async (treeId: string): Promise<Damage[]> => {
    const known = damageByTree.get(treeId);
    if (known !== undefined) return known;
    const damage: Damage[] = [];
    referenced.add(treeId);
    if (packOfBadBlob.has(treeId)) {
      damage.push({ path: '', blob: treeId });
      damageByTree.set(treeId, damage);
      return damage;
    }
    let entries: Awaited<ReturnType<typeof vault.readTree>>;
    try {
      entries = await vault.readTree(treeId);
      treesChecked++;
    } catch (error) {
      if (!isCumulusError(error)) throw error;
      errors.push(`tree ${treeId.slice(0, 8)}: ${error.message}`);
      damage.push({ path: '', blob: treeId });
      damageByTree.set(treeId, damage);
      return damage;
    }
    for (const entry of entries) {
      if (entry.type === 'file') {
        for (const chunk of entry.chunks) {
          referenced.add(chunk);
          if (packOfBadBlob.has(chunk)) {
            damage.push({ path: entry.name, blob: chunk });
            break;
          }
        }
      } else if (entry.type === 'dir') {
        for (const d of await damageUnder(entry.tree)) {
          damage.push({ path: d.path === '' ? entry.name : `${entry.name}/${d.path}`, blob: d.blob });
        }
      }
    }
    damageByTree.set(treeId, damage);
    return damage;
  };

  const dependents = new Map<string, { snapshots: Set<string>; files: Set<string> }>();
  const depend = (blob: string, snapshot: string, file: string) => {
    const packId = packOfBadBlob.get(blob);
    if (packId === undefined) return;
    const entry = dependents.get(packId) ?? { snapshots: new Set<string>(), files: new Set<string>() };
    dependents.set(packId, entry);
    entry.snapshots.add(snapshot);
    entry.files.add(file);
  };

  for (const record of records) {
    const short = record.id.slice(0, 8);
    options.onProgress?.(`checking snapshot ${short}`);
    referenced.add(record.id);
    let paths = new Map<string, string>();
    try {
      const info = decodeSnapshot(await vault.readPlain(record.id));
      paths = new Map(info.sources.map((s) => [s.id, s.path]));
    } catch (error) {
      if (!isCumulusError(error)) throw error;
      errors.push(`snapshot ${short}: its description cannot be read: ${error.message}`);
      depend(record.id, short, '(snapshot description)');
    }
    for (const source of record.sources) {
      const root = paths.get(source.id) ?? `source ${source.id.slice(0, 8)}`;
      for (const d of await damageUnder(source.tree))
        depend(d.blob, short, d.path === '' ? root : `${root}/${d.path}`);
    }
  }

  const missing = await vault.repo.missingBlobs([...referenced]);
  if (missing.size > 0) {
    errors.push(
      `${missing.size} blob(s) referenced by snapshots are not in the repository (e.g. ${[...missing]
        .slice(0, 3)
        .map((id) => id.slice(0, 8))
        .join(', ')})`,
    );
  }

  const damagedPacks = badPacks.map((pack) => ({
    packId: pack.packId,
    problem: pack.problem ?? 'damaged',
    snapshots: [...(dependents.get(pack.packId)?.snapshots ?? [])].sort(),
    files: [...(dependents.get(pack.packId)?.files ?? [])].sort(),
  }));
  return {
    ok: damagedPacks.length === 0 && errors.length === 0,
    packsChecked: packs.length,
    snapshotsChecked: records.length,
    treesChecked,
    damagedPacks,
    errors,
  };
}
