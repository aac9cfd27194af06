/**
 * tightenModes makes a server's data folder private to the server's user: 0700 for every
 * folder, 0600 for every file, whatever an older version, a restore from backup or a
 * permissive umask left. The folder holds TOTP secrets, live approval codes, wrapped keys
 * and every account's packs and index.
 */
import { chmod, lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

export async function tightenModes(dataDir: string): Promise<void> {
  await chmod(dataDir, 0o700);
  for (const name of await readdir(dataDir, { recursive: true })) {
    const path = join(dataDir, name);
    const stats = await lstat(path).catch(() => undefined); // gone meanwhile (a temp file)
    if (!stats || stats.isSymbolicLink()) continue;
    const wanted = stats.isDirectory() ? 0o700 : 0o600;
    if ((stats.mode & 0o777) !== wanted) await chmod(path, wanted).catch(() => {});
  }
}
