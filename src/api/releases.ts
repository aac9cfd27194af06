/** Agent releases: the update channel, and the minimum version the server accepts. */
import { type Static, Type } from 'typebox';
import { Timestamp, Version } from './common.ts';
import { endpoint } from './endpoint.ts';

export const Release = Type.Object({
  version: Version,
  notes: Type.String({ maxLength: 10000 }),
  /** Agents older than this get `update_required` on backup routes once this release is out. */
  minimumVersion: Version,
  publishedAt: Timestamp,
});
export type Release = Static<typeof Release>;

export const latestRelease = endpoint({
  method: 'GET',
  url: '/api/agent/latest',
  summary: 'The newest agent release; with the agent version header, whether this agent must or may update',
  tag: 'releases',
  access: 'public',
  response: Type.Object({
    latest: Type.Union([Release, Type.Null()]),
    updateAvailable: Type.Boolean(),
    updateRequired: Type.Boolean(),
  }),
});

const SEMVER = /^(\d{1,9})\.(\d{1,9})\.(\d{1,9})(?:-([0-9A-Za-z.-]{1,64}))?$/; // as bounded as the Version schema

/** isVersion says whether text is MAJOR.MINOR.PATCH with an optional pre-release. */
export function isVersion(text: string): boolean {
  return SEMVER.test(text);
}

/**
 * compareVersions orders two versions as semantic versioning does (a pre-release comes
 * before its release; numeric identifiers compare as numbers). Returns <0, 0 or >0.
 */
export function compareVersions(a: string, b: string): number {
  const left = SEMVER.exec(a);
  const right = SEMVER.exec(b);
  if (!left || !right) throw new Error(`not a version: ${left ? b : a}`);
  for (let i = 1; i <= 3; i++) {
    const diff = Number(left[i]) - Number(right[i]);
    if (diff !== 0) return diff;
  }
  return comparePreRelease(left[4], right[4]);
}

function comparePreRelease(a: string | undefined, b: string | undefined): number {
  if (a === b) return 0;
  if (a === undefined) return 1;
  if (b === undefined) return -1;
  const left = a.split('.');
  const right = b.split('.');
  for (let i = 0; i < Math.min(left.length, right.length); i++) {
    const x = left[i];
    const y = right[i];
    if (x === y) continue;
    const xNumeric = /^\d+$/.test(x);
    const yNumeric = /^\d+$/.test(y);
    if (xNumeric && yNumeric) return Number(x) - Number(y);
    if (xNumeric !== yNumeric) return xNumeric ? -1 : 1;
    return x < y ? -1 : 1;
  }
  return left.length - right.length;
}
