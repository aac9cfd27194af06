/** Plain-words formatting of times; sizes use the project's one formatBytes, as the CLI prints them. */
export { formatBytes, formatDuration } from '../../src/core/units.ts';

export function formatTime(iso: string): string {
  return new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}
