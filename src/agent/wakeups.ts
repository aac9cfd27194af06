/**
 * fileWakeups lets the scheduler evaluate the moment a file it reads changes — the
 * settings, the backup switch, the sign-in state, the simulated sensor profile — rather
 * than at its next poll, so a backup starts at the first moment every condition holds.
 * It watches the files' folders (an editor or an atomic write replaces the file, which a
 * watch on the file itself would lose) and ignores every other name there, above all the
 * state file the agent itself keeps writing.
 */
import { type FSWatcher, watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Wakeups } from './ports.ts';

export function fileWakeups(files: string[]): Wakeups {
  return (onChange) => {
    const byFolder = new Map<string, Set<string>>();
    for (const file of files) {
      const names = byFolder.get(dirname(file)) ?? new Set<string>();
      names.add(basename(file));
      byFolder.set(dirname(file), names);
    }
    const watchers: FSWatcher[] = [];
    for (const [folder, names] of byFolder) {
      try {
        const watcher = watch(folder, { persistent: false }, (_event, name) => {
          if (name === null || names.has(name)) onChange();
        });
        // A folder that goes away ends its watch; the poll still covers it.
        watcher.on('error', () => watcher.close());
        watchers.push(watcher);
      } catch {
        // A folder that does not exist (yet) cannot be watched; the poll covers it.
      }
    }
    return () => {
      for (const watcher of watchers) watcher.close();
    };
  };
}
