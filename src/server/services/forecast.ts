/**
 * ForecastService owns `growth_samples` — after each commit, the stored bytes it added and
 * the snapshot's logical size — and answers when the account's plan will be full at its
 * devices' recent rate, retention counted (core/space-forecast.ts has the model).
 */
import type { Forecast } from '../../api/lifecycle.ts';
import { forecastSpace } from '../../core/space-forecast.ts';
import { retainedDays } from '../../core/tiered-retention.ts';
import type { Clock } from '../clock.ts';
import type { Database } from '../db/database.ts';
import { type AccountRepositories, accountStoreOf } from './account-repositories.ts';
import type { PlansService } from './plans.ts';
import type { RetentionService } from './retention.ts';

const DAY = 86_400_000;
/** The rate is read from this many days of commits. */
export const FORECAST_WINDOW_DAYS = 14;
/** Samples are kept a little longer than the window, then deleted. */
const KEEP_SAMPLES_MS = 2 * FORECAST_WINDOW_DAYS * DAY;

interface SampleRow {
  device_id: string;
  at: number;
  added_bytes: number;
  logical_bytes: number;
}

export class ForecastService {
  readonly #db: Database;
  readonly #clock: Clock;
  readonly #repositories: AccountRepositories;
  readonly #plans: PlansService;
  readonly #retention: RetentionService;

  constructor(deps: {
    db: Database;
    clock: Clock;
    repositories: AccountRepositories;
    plans: PlansService;
    retention: RetentionService;
  }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#repositories = deps.repositories;
    this.#plans = deps.plans;
    this.#retention = deps.retention;
  }

  /** recordCommit notes what a commit of a device added; old samples of the account go. */
  async recordCommit(
    accountId: string,
    deviceId: string,
    addedBytes: number,
    logicalBytes: number,
  ): Promise<void> {
    const now = this.#clock.now();
    await this.#db.run(
      'INSERT INTO growth_samples (account_id, device_id, at, added_bytes, logical_bytes) VALUES (?, ?, ?, ?, ?)',
      [accountId, deviceId, now, Math.max(0, addedBytes), logicalBytes],
    );
    await this.#db.run('DELETE FROM growth_samples WHERE account_id = ? AND at < ?', [
      accountId,
      now - KEEP_SAMPLES_MS,
    ]);
  }

  async forecast(accountId: string): Promise<Forecast> {
    const now = this.#clock.now();
    const { store } = await accountStoreOf(this.#repositories, accountId);
    const [breakdown, snapshots, policyOf, plan, rows] = await Promise.all([
      store.storageBreakdown(),
      store.listSnapshots(),
      this.#retention.policiesOf(accountId),
      this.#plans.planOf(accountId),
      this.#db.all<SampleRow>(
        'SELECT device_id, at, added_bytes, logical_bytes FROM growth_samples WHERE account_id = ? AND at >= ? ORDER BY at',
        [accountId, now - FORECAST_WINDOW_DAYS * DAY],
      ),
    ]);
    const samples = Map.groupBy(rows, (row) => row.device_id);
    const devices = breakdown.devices.map((device) => {
      const policy = policyOf(device.device);
      const days = new Set(
        snapshots.filter((s) => s.device === device.device).map((s) => s.time.slice(0, 10)),
      );
      return {
        samples: (samples.get(device.device) ?? []).map((row) => ({
          at: Number(row.at),
          addedBytes: Number(row.added_bytes),
          logicalBytes: Number(row.logical_bytes),
        })),
        storedBytes: device.storedBytes,
        logicalBytes: device.logicalSize,
        retainedDays: policy === null ? null : retainedDays(policy),
        heldDays: days.size,
      };
    });
    const forecast = forecastSpace(devices, breakdown.referencedBytes, plan.quotaBytes);
    return {
      usedBytes: breakdown.referencedBytes,
      quotaBytes: plan.quotaBytes,
      growthBytesPerDay: Math.round(forecast.growthPerDay),
      daysUntilFull: forecast.daysUntilFull,
      warning: forecast.warning,
      enoughHistory: forecast.enoughHistory,
    };
  }
}
