/**
 * fileVersions finds one file in each of a device's snapshots (the same source path, the
 * same folders, the same name) and groups the snapshots by content: one Version per
 * distinct list of chunks, since equal chunk lists are equal bytes. It reads the folders
 * level by level across all the snapshots at once, and a folder that did not change
 * between snapshots is one tree, read once.
 */
import type { FileEntry } from '../../src/core/tree.ts';
import type { Snapshot, Vault } from './vault.ts';

/** Version is one content of the file: its entry, and the snapshots that hold it, newest first. */
export interface Version {
  entry: FileEntry;
  snapshots: Snapshot[];
}

export async function fileVersions(
  vault: Vault,
  snapshots: readonly Snapshot[],
  location: { source: string; folders: readonly string[]; name: string },
): Promise<Version[]> {
  let here = snapshots.flatMap((snapshot) => {
    const source = snapshot.info.sources.find((s) => s.path === location.source);
    return source ? [{ snapshot, tree: source.tree }] : [];
  });
  for (const folder of location.folders) {
    const trees = await vault.trees(here.map((h) => h.tree));
    here = here.flatMap((h, i) => {
      const entry = trees[i].find((e) => e.name === folder);
      return entry?.type === 'dir' ? [{ snapshot: h.snapshot, tree: entry.tree }] : [];
    });
  }
  const trees = await vault.trees(here.map((h) => h.tree));
  const versions = new Map<string, Version>();
  here.forEach((h, i) => {
    const entry = trees[i].find((e) => e.name === location.name);
    if (entry?.type !== 'file') return;
    const content = `${entry.size}:${entry.chunks.join(',')}`;
    const version = versions.get(content);
    if (version) version.snapshots.push(h.snapshot);
    else versions.set(content, { entry, snapshots: [h.snapshot] });
  });
  const newest = (v: Version) => v.snapshots[0].record.time;
  for (const version of versions.values())
    version.snapshots.sort((a, b) => b.record.time.localeCompare(a.record.time));
  return [...versions.values()].sort((a, b) => newest(b).localeCompare(newest(a)));
}
