/**
 * The `forget` retention policy, with restic's semantics, as a pure function. Buckets are
 * computed in the local time zone, as a person reads "daily".
 */

/** RetentionPolicy says how many of each kind of snapshot to keep; a missing or 0 count keeps none of that kind. */
export interface RetentionPolicy {
  /** The n newest snapshots. */
  last?: number;
  /** The newest snapshot of each of the n most recent hours that have one; likewise below. */
  hourly?: number;
  daily?: number;
  /** ISO 8601 weeks (Monday to Sunday, week-numbering year). */
  weekly?: number;
  monthly?: number;
  yearly?: number;
  /** Every snapshot that carries at least one of these tags. */
  tags?: readonly string[];
}

/** RetentionSubject is what the policy needs to know of a snapshot. */
export interface RetentionSubject {
  id: string;
  /** ISO 8601 time of the snapshot. */
  time: string;
  tags?: readonly string[];
}

export interface RetentionResult<T> {
  /** Snapshots to keep, newest first. */
  keep: T[];
  /** Snapshots to remove, newest first. */
  remove: T[];
  /** Why each kept snapshot is kept, e.g. ["daily snapshot", "weekly snapshot"]. */
  reasons: Map<string, string[]>;
}

type BucketOf = (time: Date, index: number) => string;

/** isoWeek returns the ISO 8601 week-numbering year and week of a local date, as "2024-W01". */
function isoWeek(time: Date): string {
  // The Thursday of a date's week is always in the week's ISO year.
  const thursday = new Date(
    time.getFullYear(),
    time.getMonth(),
    time.getDate() + 3 - ((time.getDay() + 6) % 7),
  );
  const firstOfYear = new Date(thursday.getFullYear(), 0, 1);
  const dayOfYear = Math.round((thursday.getTime() - firstOfYear.getTime()) / 86_400_000);
  return `${thursday.getFullYear()}-W${Math.floor(dayOfYear / 7) + 1}`;
}

const RULES: { key: Exclude<keyof RetentionPolicy, 'tags'>; reason: string; bucketOf: BucketOf }[] = [
  { key: 'last', reason: 'last snapshot', bucketOf: (_, index) => String(index) },
  {
    key: 'hourly',
    reason: 'hourly snapshot',
    bucketOf: (t) => `${t.getFullYear()}-${t.getMonth()}-${t.getDate()} ${t.getHours()}`,
  },
  {
    key: 'daily',
    reason: 'daily snapshot',
    bucketOf: (t) => `${t.getFullYear()}-${t.getMonth()}-${t.getDate()}`,
  },
  { key: 'weekly', reason: 'weekly snapshot', bucketOf: isoWeek },
  { key: 'monthly', reason: 'monthly snapshot', bucketOf: (t) => `${t.getFullYear()}-${t.getMonth()}` },
  { key: 'yearly', reason: 'yearly snapshot', bucketOf: (t) => `${t.getFullYear()}` },
];

/** isEmptyPolicy is true when the policy keeps nothing by any rule: then applyRetention keeps everything. */
export function isEmptyPolicy(policy: RetentionPolicy): boolean {
  return RULES.every((rule) => !policy[rule.key]) && (policy.tags ?? []).length === 0;
}

/**
 * applyRetention splits snapshots into those the policy keeps and those it removes.
 * Walking from newest to oldest, each rule keeps a snapshot when it is the newest of a
 * bucket (hour, day, ISO week, month, year; for `last` every snapshot is its own bucket)
 * not yet seen, until it has kept its count; a count of Infinity keeps every bucket. A
 * snapshot kept by any rule stays. An empty policy keeps everything (the caller refuses
 * it). Apply it to one group at a time (e.g. per host and paths), as restic does.
 * Throws (a bug in the caller) on a count that is not a whole number ≥ 0 or a bad time.
 */
export function applyRetention<T extends RetentionSubject>(
  snapshots: readonly T[],
  policy: RetentionPolicy,
): RetentionResult<T> {
  for (const rule of RULES) {
    const count = policy[rule.key];
    if (
      count !== undefined &&
      !(count === Number.POSITIVE_INFINITY || (Number.isSafeInteger(count) && count >= 0))
    ) {
      throw new Error(`retention count ${rule.key} must be a whole number ≥ 0, got ${count}`);
    }
  }
  const dated = snapshots.map((snapshot) => {
    const time = new Date(snapshot.time);
    if (Number.isNaN(time.getTime()))
      throw new Error(`snapshot ${snapshot.id} has a bad time ${snapshot.time}`);
    return { snapshot, time };
  });
  // Newest first; equal times in a fixed order so the result never depends on input order.
  dated.sort((a, b) => b.time.getTime() - a.time.getTime() || (a.snapshot.id < b.snapshot.id ? -1 : 1));
  const reasons = new Map<string, string[]>();
  const keep: T[] = [];
  const remove: T[] = [];
  if (isEmptyPolicy(policy)) {
    for (const { snapshot } of dated) keep.push(snapshot);
    return { keep, remove, reasons };
  }
  const remaining = RULES.map((rule) => policy[rule.key] ?? 0);
  const lastBucket = RULES.map((): string | undefined => undefined);
  const keptTags = new Set(policy.tags ?? []);
  dated.forEach(({ snapshot, time }, index) => {
    const why: string[] = [];
    RULES.forEach((rule, r) => {
      if (remaining[r] <= 0) return;
      const bucket = rule.bucketOf(time, index);
      if (bucket === lastBucket[r]) return;
      lastBucket[r] = bucket;
      remaining[r]--;
      why.push(rule.reason);
    });
    if ((snapshot.tags ?? []).some((tag) => keptTags.has(tag))) why.push('has a kept tag');
    if (why.length > 0) {
      keep.push(snapshot);
      reasons.set(snapshot.id, why);
    } else {
      remove.push(snapshot);
    }
  });
  return { keep, remove, reasons };
}
