/**
 * diffSnapshots lists what changed between two snapshots, path by path: added (+),
 * removed (-), content modified (M), type changed (T), metadata only (U).
 */
import type { TreeEntry } from '../core/tree.ts';
import type { BlobReader } from './repository.ts';
import type { Snapshot, UnlockedRepository } from './unlocked-repository.ts';

export type ChangeKind = '+' | '-' | 'M' | 'T' | 'U';

export interface Change {
  kind: ChangeKind;
  path: string;
}

function sameContent(a: TreeEntry, b: TreeEntry): boolean {
  if (a.type === 'file' && b.type === 'file') return a.size === b.size && a.chunks.join() === b.chunks.join();
  if (a.type === 'symlink' && b.type === 'symlink') return a.target === b.target;
  return a.type === b.type;
}

export async function diffSnapshots(
  vault: UnlockedRepository<BlobReader>,
  a: Snapshot,
  b: Snapshot,
): Promise<Change[]> {
  const changes: Change[] = [];
  const everything = async (kind: ChangeKind, tree: string, prefix: string) => {
    for await (const { path } of vault.walk(tree, prefix)) changes.push({ kind, path });
  };
  const compare = async (
    treeA: string | undefined,
    treeB: string | undefined,
    prefix: string,
  ): Promise<void> => {
    if (treeA === treeB) return;
    const left = new Map((treeA ? await vault.readTree(treeA) : []).map((e) => [e.name, e]));
    const right = new Map((treeB ? await vault.readTree(treeB) : []).map((e) => [e.name, e]));
    const names = [...new Set([...left.keys(), ...right.keys()])].sort();
    for (const name of names) {
      const path = `${prefix}/${name}`;
      const x = left.get(name);
      const y = right.get(name);
      if (x === undefined || y === undefined) {
        const entry = (x ?? y) as TreeEntry;
        changes.push({ kind: x === undefined ? '+' : '-', path });
        if (entry.type === 'dir') await everything(x === undefined ? '+' : '-', entry.tree, path);
      } else if (x.type !== y.type) {
        changes.push({ kind: 'T', path });
        if (x.type === 'dir') await everything('-', x.tree, path);
        if (y.type === 'dir') await everything('+', y.tree, path);
      } else if (x.type === 'dir' && y.type === 'dir') {
        if (x.mode !== y.mode) changes.push({ kind: 'U', path });
        await compare(x.tree, y.tree, path);
      } else if (!sameContent(x, y)) {
        changes.push({ kind: 'M', path });
      } else if (x.mode !== y.mode || x.mtimeNs !== y.mtimeNs) {
        changes.push({ kind: 'U', path });
      }
    }
  };
  const paths = new Map<string, string>();
  for (const s of [...a.info.sources, ...b.info.sources]) paths.set(s.id, s.path);
  for (const id of paths.keys()) {
    const treeA = a.info.sources.find((s) => s.id === id)?.tree;
    const treeB = b.info.sources.find((s) => s.id === id)?.tree;
    await compare(treeA, treeB, paths.get(id) ?? id);
  }
  return changes;
}
