/**
 * When an account's plan will be full at its devices' recent rate, counting what retention
 * will give back (docs/lifecycle.md, "Space forecast"). Pure: the server feeds it each
 * device's recent commits and what it stores now.
 *
 * The model, per device: its commits of the last weeks added `a` stored bytes a day. Of
 * that, `g` is the data itself growing (the latest snapshot's size rising, converted to
 * stored bytes by the device's stored/logical ratio) and stays; the rest, `c = a - g`, is
 * churn: versions later snapshots no longer hold. Retention keeps churn only as long as it
 * keeps a snapshot holding it — about `retainedDays(policy)` days' worth (one day per kept
 * snapshot) — so churn adds to the total only until the device holds that many days; after
 * that it is freed as fast as it comes. With retention off it all stays.
 * growth(x days) = g·x + c·min(x, room), room = retainedDays − days the device holds now.
 */

const DAY = 86_400_000;
/** Beyond ten years a forecast says nothing useful. */
export const FORECAST_HORIZON_DAYS = 3650;
/** Under this many days to full, the forecast warns. */
export const WARN_DAYS = 14;

export interface DeviceGrowth {
  /** Commits after the device's first, oldest first: when, stored bytes each added, and the snapshot's logical size. */
  samples: readonly { at: number; addedBytes: number; logicalBytes: number }[];
  /** Stored and logical bytes of the device now. */
  storedBytes: number;
  logicalBytes: number;
  /** Days of churn its policy keeps (retainedDays), or null when retention is off. */
  retainedDays: number | null;
  /** Distinct days among the device's snapshots now. */
  heldDays: number;
}

export interface DeviceRate {
  /** Stored bytes its commits add a day. */
  addedPerDay: number;
  /** Of those, the data's own growth, which retention never frees. */
  dataGrowthPerDay: number;
  /** Days more of churn the policy will keep (Infinity with retention off). */
  churnRoomDays: number;
}

export interface SpaceForecast {
  /** Bytes a day the account grows now. */
  growthPerDay: number;
  /** Whole days until the plan is full at this rate; null when not within the horizon or no history. */
  daysUntilFull: number | null;
  warning: boolean;
  /** False when no device has two commits in the window: nothing to go by yet. */
  enoughHistory: boolean;
}

/** rateOf reads a device's rates from its samples, or undefined with fewer than two. */
export function rateOf(device: DeviceGrowth): DeviceRate | undefined {
  const { samples } = device;
  if (samples.length < 2) return undefined;
  const first = samples[0];
  const last = samples[samples.length - 1];
  const days = Math.max((last.at - first.at) / DAY, 1 / 24);
  // The first sample's bytes were added before the window opened.
  const added = samples.slice(1).reduce((sum, s) => sum + s.addedBytes, 0);
  const addedPerDay = Math.max(0, added / days);
  const ratio = device.logicalBytes > 0 ? device.storedBytes / device.logicalBytes : 1;
  const logicalPerDay = (last.logicalBytes - first.logicalBytes) / days;
  const dataGrowthPerDay = Math.min(addedPerDay, Math.max(0, logicalPerDay * ratio));
  const churnRoomDays =
    device.retainedDays === null
      ? Number.POSITIVE_INFINITY
      : Math.max(0, device.retainedDays - device.heldDays);
  return { addedPerDay, dataGrowthPerDay, churnRoomDays };
}

/** growthOver is how many bytes a device adds over the next `days` days. */
export function growthOver(rate: DeviceRate, days: number): number {
  const churn = rate.addedPerDay - rate.dataGrowthPerDay;
  return rate.dataGrowthPerDay * days + churn * Math.min(days, rate.churnRoomDays);
}

/** forecastSpace says when `usedBytes` reaches `quotaBytes` at the devices' rates. */
export function forecastSpace(
  devices: readonly DeviceGrowth[],
  usedBytes: number,
  quotaBytes: number,
): SpaceForecast {
  const rates = devices.map(rateOf).filter((rate) => rate !== undefined);
  const growthPerDay = rates.reduce((sum, r) => sum + growthOver(r, 1), 0);
  let daysUntilFull: number | null = null;
  if (usedBytes >= quotaBytes) daysUntilFull = 0;
  else if (rates.length > 0) {
    for (let day = 1; day <= FORECAST_HORIZON_DAYS; day++) {
      if (usedBytes + rates.reduce((sum, r) => sum + growthOver(r, day), 0) >= quotaBytes) {
        daysUntilFull = day;
        break;
      }
    }
  }
  return {
    growthPerDay,
    daysUntilFull,
    warning: daysUntilFull !== null && daysUntilFull <= WARN_DAYS,
    enoughHistory: rates.length > 0,
  };
}

/** describeForecast puts a forecast in words: "at this rate the plan is full in about 40 days". */
export function describeForecast(forecast: SpaceForecast): string {
  if (forecast.daysUntilFull === 0) return 'the plan is full';
  if (!forecast.enoughHistory) return 'not enough backups yet to say when the plan fills';
  if (forecast.daysUntilFull === null) return 'at this rate the plan does not fill within 10 years';
  const days = forecast.daysUntilFull;
  return `at this rate the plan is full in about ${days} day${days === 1 ? '' : 's'}${forecast.warning ? ': free space or move to a larger plan soon' : ''}`;
}
