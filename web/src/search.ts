/**
 * searchNames finds the entries of a snapshot whose name contains a text (case-folded),
 * walking every source's folders in this page (walk.ts): the server sees only which tree
 * blobs are read. Matches arrive folder by folder, so a page shows them as they are found;
 * the search stops at MAX_MATCHES, or when its signal is aborted.
 */
import type { TreeEntry } from '../../src/core/tree.ts';
import type { Vault } from './vault.ts';
import { type Step, walkFolders } from './walk.ts';

export const MAX_MATCHES = 1_000;

/** Match is an entry found: the source it is in, the folders down to it, and the entry. */
export interface Match {
  source: { path: string; tree: string };
  folders: Step[];
  entry: TreeEntry;
}

/** SearchProgress is what a search has done so far: the matches, and the folders searched. */
export interface SearchProgress {
  matches: Match[];
  folders: number;
}

export async function searchNames(
  vault: Vault,
  sources: readonly { path: string; tree: string }[],
  text: string,
  onProgress: (progress: SearchProgress) => void,
  signal: AbortSignal,
): Promise<SearchProgress> {
  const needle = text.trim().toLocaleLowerCase();
  const progress: SearchProgress = { matches: [], folders: 0 };
  for (const source of sources) {
    for await (const folder of walkFolders(vault, source.tree, signal)) {
      progress.folders++;
      for (const entry of folder.entries) {
        if (!entry.name.toLocaleLowerCase().includes(needle)) continue;
        progress.matches.push({ source, folders: folder.path, entry });
        if (progress.matches.length >= MAX_MATCHES) {
          onProgress(progress);
          return progress;
        }
      }
      onProgress(progress);
    }
  }
  return progress;
}
