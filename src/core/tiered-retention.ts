/**
 * The server's retention policy (docs/lifecycle.md) as a pure function of snapshot times,
 * pins and the time now: every snapshot of the last `allHours`, then the newest of each
 * day until `dailyDays`, of each week until `weeklyWeeks`, of each month until
 * `monthlyMonths`; a device's newest snapshot and every pinned one are always kept.
 *
 * The tiers go by a snapshot's age, and their buckets nest (a UTC day lies in one "week of
 * a month" — an ISO week cut at month ends — which lies in one month), and a snapshot is
 * kept when no newer snapshot shares its bucket at its tier. So a snapshot dropped once is
 * never wanted later, and thinning now and again later keeps the same set as thinning
 * once later: the server can apply the policy after every commit and on a schedule alike.
 * Buckets are UTC: the server does not know a device's time zone.
 */

/** TieredPolicy is the window of each tier, each measured from now; 0 skips a tier. */
export interface TieredPolicy {
  /** Every snapshot younger than this many hours. */
  allHours: number;
  /** The newest of each UTC day, for snapshots younger than this many days. */
  dailyDays: number;
  /** The newest of each week (cut at month ends), younger than this many weeks. */
  weeklyWeeks: number;
  /** The newest of each UTC month, younger than this many months (of 365.25/12 days). */
  monthlyMonths: number;
}

/**
 * DEFAULT_POLICY: 48 hours of everything (undo today's and yesterday's mistakes at any
 * point), a month of dailies, half a year of weeklies, two years of monthlies. Bounded on
 * purpose: a policy that keeps monthlies forever keeps growing, and a plan that fits the
 * data today would fill one day.
 */
export const DEFAULT_POLICY: TieredPolicy = {
  allHours: 48,
  dailyDays: 30,
  weeklyWeeks: 26,
  monthlyMonths: 24,
};

/** POLICY_LIMITS bound each window (100 years at most). */
export const POLICY_LIMITS: Readonly<Record<keyof TieredPolicy, number>> = {
  allHours: 876_000,
  dailyDays: 36_500,
  weeklyWeeks: 5_200,
  monthlyMonths: 1_200,
};

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const MONTH = (365.25 / 12) * DAY;

export interface RetentionSnapshot {
  id: string;
  /** Milliseconds since the epoch. */
  time: number;
}

/** Granularity of a bucket, finest first; each nests in the next. */
const GRAINS = ['day', 'week', 'month', 'all'] as const;
type Grain = (typeof GRAINS)[number];

function isoWeek(time: Date): number {
  const thursday = new Date(
    Date.UTC(time.getUTCFullYear(), time.getUTCMonth(), time.getUTCDate() + 3 - ((time.getUTCDay() + 6) % 7)),
  );
  const firstOfYear = Date.UTC(thursday.getUTCFullYear(), 0, 1);
  return Math.floor((thursday.getTime() - firstOfYear) / DAY / 7) + 1;
}

function bucketOf(time: number, grain: Grain): string {
  const date = new Date(time);
  const month = `${date.getUTCFullYear()}-${date.getUTCMonth()}`;
  switch (grain) {
    case 'day':
      return `${month}-${date.getUTCDate()}`;
    case 'week':
      return `${month}/${isoWeek(date)}`;
    case 'month':
      return month;
    case 'all':
      return '';
  }
}

/** tierOf is the grain a snapshot of this age is thinned at, or 'keep' inside the first window. */
function tierOf(age: number, policy: TieredPolicy): Grain | 'keep' {
  if (age < policy.allHours * HOUR) return 'keep';
  if (age < policy.dailyDays * DAY) return 'day';
  if (age < policy.weeklyWeeks * 7 * DAY) return 'week';
  if (age < policy.monthlyMonths * MONTH) return 'month';
  return 'all';
}

/** policyProblem says what is wrong with a policy, or undefined when each window is a whole number within its limit. */
export function policyProblem(policy: TieredPolicy): string | undefined {
  for (const key of Object.keys(POLICY_LIMITS) as (keyof TieredPolicy)[]) {
    const value = policy[key];
    if (!Number.isSafeInteger(value) || value < 0 || value > POLICY_LIMITS[key])
      return `${key} must be a whole number from 0 to ${POLICY_LIMITS[key]}, not ${value}`;
  }
  return undefined;
}

/**
 * selectKept splits one device's snapshots into those the policy keeps at `now` and those
 * it removes (newest first). Pinned snapshots and the newest are always kept; a snapshot
 * dated after `now` is younger than every window and kept.
 */
export function selectKept<T extends RetentionSnapshot>(
  snapshots: readonly T[],
  policy: TieredPolicy,
  now: number,
  pinned: ReadonlySet<string> = new Set(),
): { keep: T[]; remove: T[] } {
  const problem = policyProblem(policy);
  if (problem !== undefined) throw new Error(problem);
  const newestFirst = snapshots.toSorted((a, b) => b.time - a.time || (a.id < b.id ? -1 : 1));
  const seen = new Map<Grain, Set<string>>(GRAINS.map((grain) => [grain, new Set()]));
  const keep: T[] = [];
  const remove: T[] = [];
  for (const snapshot of newestFirst) {
    const tier = tierOf(now - snapshot.time, policy);
    const newestOfBucket = tier === 'keep' || !seen.get(tier)!.has(bucketOf(snapshot.time, tier));
    for (const grain of GRAINS) seen.get(grain)!.add(bucketOf(snapshot.time, grain));
    if (newestOfBucket || pinned.has(snapshot.id)) keep.push(snapshot);
    else remove.push(snapshot);
  }
  return { keep, remove };
}

/**
 * keptBound is the most snapshots (pins aside) the policy keeps of one device that made
 * `recent` snapshots within `allHours`: those, one a day, one per week-of-a-month (a month
 * cut adds at most one a month), one a month, and the newest.
 */
export function keptBound(policy: TieredPolicy, recent: number): number {
  const weeks = policy.weeklyWeeks + Math.ceil((policy.weeklyWeeks * 7) / 28) + 1;
  return recent + (policy.dailyDays + 1) + weeks + (policy.monthlyMonths + 1) + 1;
}

/**
 * retainedDays estimates how many days' worth of changes the policy keeps once a device
 * has backed up daily for longer than every window: each kept snapshot beyond the newest
 * holds about one day of changes (the forecast's model, docs/lifecycle.md).
 */
export function retainedDays(policy: TieredPolicy): number {
  const allDays = policy.allHours / 24;
  const daily = Math.max(0, policy.dailyDays - allDays);
  const weekly = Math.max(0, (policy.weeklyWeeks * 7 - Math.max(policy.dailyDays, allDays)) / 7);
  const monthly = Math.max(
    0,
    (policy.monthlyMonths * (MONTH / DAY) - Math.max(policy.weeklyWeeks * 7, policy.dailyDays, allDays)) /
      (MONTH / DAY),
  );
  return allDays + daily + weekly + monthly;
}

/** describePolicy puts a policy in words, e.g. "every snapshot of the last 48 hours, one a day for 30 days, …". */
export function describePolicy(policy: TieredPolicy | null): string {
  if (policy === null) return 'off: every snapshot is kept';
  const parts = [
    policy.allHours > 0 ? `every snapshot of the last ${policy.allHours} hours` : '',
    policy.dailyDays > 0 ? `one a day for ${policy.dailyDays} days` : '',
    policy.weeklyWeeks > 0 ? `one a week for ${policy.weeklyWeeks} weeks` : '',
    policy.monthlyMonths > 0 ? `one a month for ${policy.monthlyMonths} months` : '',
  ].filter((part) => part !== '');
  return `${[...parts, 'the newest always'].join(', ')}`;
}
