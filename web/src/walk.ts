/**
 * walkFolders visits every folder below a tree, depth first, reading up to FOLDERS_PER_READ
 * trees per request (Vault.trees). What it keeps is the folders still to visit (a path
 * and a tree ID each), not the trees it has read, so a walk of a large snapshot stays
 * within the vault's bounded tree cache. An aborted signal stops it between reads.
 */
import type { TreeEntry } from '../../src/core/tree.ts';
import type { Vault } from './vault.ts';

const FOLDERS_PER_READ = 64;

/** Step is one folder on a path: its name and its tree. */
export interface Step {
  name: string;
  tree: string;
}

/** Folder is one folder met on a walk: the folders from the walk's root down to it, and its entries. */
export interface Folder {
  path: Step[];
  entries: TreeEntry[];
}

export async function* walkFolders(vault: Vault, root: string, signal?: AbortSignal): AsyncGenerator<Folder> {
  const pending: { path: Step[]; tree: string }[] = [{ path: [], tree: root }];
  while (pending.length > 0) {
    signal?.throwIfAborted();
    const step = pending.splice(-FOLDERS_PER_READ);
    const trees = await vault.trees(step.map((folder) => folder.tree));
    signal?.throwIfAborted();
    for (let i = 0; i < step.length; i++) {
      const path = step[i].path;
      for (const entry of trees[i])
        if (entry.type === 'dir')
          pending.push({ path: [...path, { name: entry.name, tree: entry.tree }], tree: entry.tree });
      yield { path, entries: trees[i] };
    }
  }
}
