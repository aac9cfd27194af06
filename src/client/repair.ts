/**
 * repairIndex rebuilds a lost or broken index from the pack files alone: the store
 * re-reads every pack's table, then each snapshot found in the packs (and not forgotten)
 * is decrypted, its trees walked to recompute what it references, and committed again.
 */
import { isCumulusError } from '../core/errors.ts';
import { decodeSnapshot } from '../core/snapshot.ts';
import type { SourceCommit } from '../store/types.ts';
import type { BlobReader, IndexRebuild, SnapshotIndex } from './repository.ts';
import type { UnlockedRepository } from './unlocked-repository.ts';

export interface RepairReport {
  packs: number;
  blobs: number;
  damagedPacks: string[];
  snapshotsRestored: number;
  /** Snapshots found in the packs that cannot be committed again, with why. */
  snapshotsLost: { id: string; reason: string }[];
}

/** sourceRefs walks a source's trees and returns every blob it references and its logical size. */
export async function sourceRefs(
  vault: UnlockedRepository<BlobReader>,
  tree: string,
): Promise<{ refs: string[]; logicalSize: number }> {
  const refs = new Set<string>([tree]);
  let logicalSize = 0;
  for await (const { entry } of vault.walk(tree)) {
    if (entry.type === 'dir') refs.add(entry.tree);
    if (entry.type === 'file') {
      logicalSize += entry.size;
      for (const chunk of entry.chunks) refs.add(chunk);
    }
  }
  return { refs: [...refs], logicalSize };
}

export async function repairIndex(
  vault: UnlockedRepository<BlobReader & SnapshotIndex & IndexRebuild>,
): Promise<RepairReport> {
  const rebuilt = await vault.repo.rebuildIndex();
  const forgotten = await vault.repo.forgottenSnapshots();
  const report: RepairReport = { ...rebuilt, snapshotsRestored: 0, snapshotsLost: [] };
  for (const id of await vault.repo.listBlobIds('snapshot')) {
    if (forgotten.has(id)) continue;
    try {
      const info = decodeSnapshot(await vault.readPlain(id));
      const sources: SourceCommit[] = [];
      for (const source of info.sources) {
        sources.push({ id: source.id, tree: source.tree, ...(await sourceRefs(vault, source.tree)) });
      }
      await vault.repo.commitSnapshot({ id, time: info.time, sources });
      report.snapshotsRestored++;
    } catch (error) {
      if (!isCumulusError(error)) throw error;
      report.snapshotsLost.push({ id, reason: error.message });
    }
  }
  return report;
}
