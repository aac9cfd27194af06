/** Units: parsing sizes given on the command line and formatting measured numbers. */

const SUFFIXES: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 };

/** parseSize reads `512K`, `8M`, `5G` or a plain byte count (binary multiples); throws on anything else. */
export function parseSize(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([KMG]?)i?B?$/i.exec(text.trim());
  if (!match) throw new Error(`not a size: "${text}" (use a byte count or a number with K, M or G)`);
  return Math.round(Number(match[1]) * SUFFIXES[match[2].toUpperCase()]);
}

/** formatSize writes a byte count the short way (`512K`, `1M`, `1.5G`), the inverse of parseSize. */
export function formatSize(bytes: number): string {
  for (const suffix of ['G', 'M', 'K']) {
    const unit = SUFFIXES[suffix];
    if (bytes >= unit) return `${Number((bytes / unit).toFixed(2))}${suffix}`;
  }
  return String(bytes);
}

/** megabytes returns bytes in MB (10^6), the unit of every table. */
export function megabytes(bytes: number): number {
  return bytes / 1e6;
}

/** fixed formats a number with `digits` decimals, or an em dash when there is no number. */
export function fixed(value: number | undefined, digits: number): string {
  return value === undefined || !Number.isFinite(value) ? '—' : value.toFixed(digits);
}
