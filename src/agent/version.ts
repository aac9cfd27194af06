/** The agent's own version, and comparison of dotted versions ("0.10.1" > "0.9"). */
import pkg from '../../package.json' with { type: 'json' };

export const agentVersion: string = pkg.version;

/** compareVersions returns <0, 0 or >0; pre-release suffixes are ignored. */
export function compareVersions(a: string, b: string): number {
  const parts = (v: string) =>
    v
      .replace(/^v/, '')
      .split('-')[0]
      .split('.')
      .map((n) => Number(n) || 0);
  const pa = parts(a);
  const pb = parts(b);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
