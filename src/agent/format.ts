/** Plain-words formatting of the values the agent measures. */
import { progressFigures } from '../core/progress.ts';
import { formatBytes } from '../core/units.ts';

export { formatDuration } from '../core/units.ts';

import type { BackupProgress } from './ports.ts';

/** formatClock prints the local time of day, "01:10". */
export function formatClock(at: number): string {
  const d = new Date(at);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

/** formatWhen prints a local date and time, "2025-03-04 01:10". */
export function formatWhen(at: number): string {
  const d = new Date(at);
  const date = `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
  return `${date} ${formatClock(at)}`;
}

/** formatRate prints bytes per second as "12 MB/s". */
export function formatRate(bytesPerSecond: number): string {
  return `${formatBytes(bytesPerSecond)}/s`;
}

/**
 * describeProgress says how far a backup is: "1.2 GB of 3.4 GB (35%, 120 of 900 files)
 * read, 300 MB uploaded"; a total still being counted is marked "so far".
 */
export function describeProgress(p: BackupProgress): string {
  const counting = p.totalsFinal === false ? ' so far' : '';
  const percent =
    p.bytesTotal === undefined
      ? ''
      : `${progressFigures({ ...p, filesTotal: p.filesTotal ?? 0, bytesTotal: p.bytesTotal, elapsedMs: 0 }).percent}%, `;
  const bytes =
    p.bytesTotal === undefined
      ? formatBytes(p.bytesDone)
      : `${formatBytes(p.bytesDone)} of ${formatBytes(p.bytesTotal)}${counting}`;
  const files =
    p.filesTotal === undefined ? `${p.filesDone} files` : `${p.filesDone} of ${p.filesTotal} files`;
  return `${bytes} (${percent}${files}) read, ${formatBytes(p.bytesUploaded)} uploaded`;
}
