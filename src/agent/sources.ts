/**
 * Sources: the folders this device backs up, each with gitignore-style excludes. On the
 * first `enable`, the usual folders that exist under the home folder are chosen.
 */
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { CumulusError } from '../core/errors.ts';
import type { BackupSource } from './ports.ts';
import type { Settings, SettingsStore } from './settings.ts';

const DEFAULT_FOLDERS = ['Documents', 'Desktop', 'Pictures'];

/** defaultSources returns the usual folders that exist under `home`. */
export async function defaultSources(home: string): Promise<BackupSource[]> {
  const found: BackupSource[] = [];
  for (const name of DEFAULT_FOLDERS) {
    const path = join(home, name);
    if (await isDirectory(path)) found.push({ path, excludes: [] });
  }
  return found;
}

/** expandPath turns "~/x" and relative paths into absolute ones. */
export function expandPath(path: string, home: string): string {
  if (path === '~') return home;
  if (path.startsWith('~/')) return join(home, path.slice(2));
  return resolve(path);
}

/**
 * addSource adds a folder (or, when it is already a source, adds the excludes to it).
 * The folder must exist: a source that does not would silently back up nothing.
 */
export async function addSource(store: SettingsStore, path: string, excludes: string[]): Promise<Settings> {
  if (!(await isDirectory(path))) {
    throw new CumulusError('source_missing', `${path} is not a folder on this device`, {
      hint: 'check the path; a source must be an existing folder',
    });
  }
  const settings = await store.load();
  const existing = settings.sources.find((s) => s.path === path);
  if (existing) existing.excludes = [...new Set([...existing.excludes, ...excludes])];
  else settings.sources.push({ path, excludes });
  await store.save(settings);
  return settings;
}

/** removeSource stops backing up a folder; its data already backed up stays until deleted with `cumulus storage`. */
export async function removeSource(store: SettingsStore, path: string): Promise<Settings> {
  const settings = await store.load();
  if (!settings.sources.some((s) => s.path === path)) {
    throw new CumulusError('not_found', `${path} is not a source`, { hint: 'see `cumulus sources list`' });
  }
  settings.sources = settings.sources.filter((s) => s.path !== path);
  await store.save(settings);
  return settings;
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}
