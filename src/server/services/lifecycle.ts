/**
 * LifecycleService watches each device that has backed up: it learns the device's
 * cadence from its successful backups, tells the account when the device has gone silent
 * (once, then a reminder at most every `reminderDays`), and when it backs up again; and it
 * deletes the backups of a device abandoned for `expiryDays`, after the notices 30 and 7
 * days before (lifecycle-rules.ts says when; a pinned device's backups never expire). Its
 * two checks are plain functions of the time, run by the server's scheduler.
 */
import type { Reason } from '../../api/devices.ts';
import type { DeviceAlert, LifecycleSettings } from '../../api/notifications.ts';
import type { Clock } from '../clock.ts';
import { iso } from '../clock.ts';
import type { Database } from '../db/database.ts';
import {
  DAY_MS,
  type ExpiryState,
  expiryStep,
  plannedDeletion,
  type SilenceState,
  silenceStep,
  silenceThresholdMs,
  withBackup,
} from '../notify/lifecycle-rules.ts';
import type { Notice } from '../notify/notice.ts';
import type { AccountRepositories } from './account-repositories.ts';
import type { AuditLog } from './audit.ts';
import type { Caller } from './caller.ts';
import type { BackedUpDevice, DevicesService } from './devices.ts';
import type { NotificationsService } from './notifications.ts';

/** Pins says whether a device's backups are to be kept whatever its age: the device or one of its backups is pinned. */
export interface Pins {
  keepsDevice(accountId: string, deviceId: string): Promise<boolean>;
}

interface LifecycleRow {
  device_id: string;
  account_id: string;
  /** JSON array of the recent successful backup times. */
  backups: string;
  silent_since: number | null;
  silence_noticed_at: number | null;
  expiry_base: number | null;
  expiry_first_at: number | null;
  expiry_last_at: number | null;
  expired_at: number | null;
}

/** DeviceLifecycle is a device's recorded state, its expiry notices counted for its current last backup only. */
interface DeviceLifecycle extends SilenceState, ExpiryState {
  backups: number[];
  /** When its backups were deleted for this last backup's age; null if they were not. */
  expiredAt: number | null;
}

export interface CheckReport {
  notices: number;
  /** Notices no channel took (sent again next time). */
  undelivered: number;
  deleted: number;
}

function emptyReport(): CheckReport {
  return { notices: 0, undelivered: 0, deleted: 0 };
}

/** reasonOf is why the device is silent as the server knows it: its last reason after a failed attempt, and whether it still reports or is signed in. */
function reasonOf(device: BackedUpDevice): Reason {
  const failedSince = device.lastAttemptAt !== null && device.lastAttemptAt > device.lastBackupAt;
  const codes = failedSince && device.lastReason ? [...device.lastReason.codes] : ['no-report'];
  if (!device.signedIn) codes.push('signed-out');
  return {
    codes: codes.slice(0, 10),
    values: failedSince && device.lastReason ? device.lastReason.values : {},
  };
}

function daysSince(now: number, at: number): number {
  return Math.max(0, Math.floor((now - at) / DAY_MS));
}

export class LifecycleService {
  readonly #db: Database;
  readonly #clock: Clock;
  readonly #audit: AuditLog;
  readonly #devices: DevicesService;
  readonly #notifications: NotificationsService;
  readonly #repositories: AccountRepositories;
  readonly #pins: Pins;
  /** The checks run one after the other: each reads and writes every device's state. */
  #running: Promise<unknown> = Promise.resolve();

  constructor(deps: {
    db: Database;
    clock: Clock;
    audit: AuditLog;
    devices: DevicesService;
    notifications: NotificationsService;
    repositories: AccountRepositories;
    pins: Pins;
  }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
    this.#devices = deps.devices;
    this.#notifications = deps.notifications;
    this.#repositories = deps.repositories;
    this.#pins = deps.pins;
  }

  async #states(accountId?: string): Promise<Map<string, LifecycleRow>> {
    const rows = await this.#db.all<LifecycleRow>(
      `SELECT * FROM device_lifecycle${accountId === undefined ? '' : ' WHERE account_id = ?'}`,
      accountId === undefined ? [] : [accountId],
    );
    return new Map(rows.map((row) => [row.device_id, row]));
  }

  /** #stateOf reads a device's row; expiry notices about an older last backup no longer count. */
  #stateOf(device: BackedUpDevice, row: LifecycleRow | undefined): DeviceLifecycle {
    const current = row?.expiry_base === device.lastBackupAt;
    return {
      backups: withBackup(row ? (JSON.parse(row.backups) as number[]) : [], device.lastBackupAt),
      silentSince: row?.silent_since ?? null,
      noticedAt: row?.silence_noticed_at ?? null,
      firstNoticeAt: current ? row.expiry_first_at : null,
      lastNoticeAt: current ? row.expiry_last_at : null,
      expiredAt: current ? row.expired_at : null,
    };
  }

  async #save(device: BackedUpDevice, state: DeviceLifecycle): Promise<void> {
    await this.#db.run(
      `INSERT INTO device_lifecycle (device_id, account_id, backups, silent_since, silence_noticed_at,
         expiry_base, expiry_first_at, expiry_last_at, expired_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (device_id) DO UPDATE SET backups = excluded.backups, silent_since = excluded.silent_since,
         silence_noticed_at = excluded.silence_noticed_at, expiry_base = excluded.expiry_base,
         expiry_first_at = excluded.expiry_first_at, expiry_last_at = excluded.expiry_last_at,
         expired_at = excluded.expired_at`,
      [
        device.id,
        device.accountId,
        JSON.stringify(state.backups),
        state.silentSince,
        state.noticedAt,
        device.lastBackupAt,
        state.firstNoticeAt,
        state.lastNoticeAt,
        state.expiredAt,
      ],
    );
  }

  /** #eachDevice runs `step` over every watched device with its account's settings and its state, then saves the state. */
  #eachDevice(
    step: (device: BackedUpDevice, settings: LifecycleSettings, state: DeviceLifecycle) => Promise<void>,
  ): Promise<void> {
    const run = this.#running.catch(() => {}).then(() => this.#walk(step));
    this.#running = run;
    return run;
  }

  async #walk(
    step: (device: BackedUpDevice, settings: LifecycleSettings, state: DeviceLifecycle) => Promise<void>,
  ): Promise<void> {
    const [devices, rows] = await Promise.all([this.#devices.backedUp(), this.#states()]);
    const settings = new Map<string, LifecycleSettings>();
    for (const device of devices) {
      let account = settings.get(device.accountId);
      if (!account) {
        account = await this.#notifications.settingsOf(device.accountId);
        settings.set(device.accountId, account);
      }
      const state = this.#stateOf(device, rows.get(device.id));
      await step(device, account, state);
      await this.#save(device, state);
    }
  }

  /** #notify delivers a notice and says whether any channel took it. */
  async #notify(report: CheckReport, accountId: string, notice: Notice): Promise<boolean> {
    const results = await this.#notifications.deliver(accountId, notice);
    const delivered = results.some((result) => result.ok);
    if (delivered) report.notices++;
    else report.undelivered++;
    return delivered;
  }

  /**
   * checkSilence tells each account about its devices that went silent, reminds it, and
   * says when one backs up again. A notice no channel took is tried again next time.
   */
  async checkSilence(now: number): Promise<CheckReport> {
    const report = emptyReport();
    await this.#eachDevice(async (device, settings, state) => {
      const named = { id: device.id, name: device.name };
      const step = silenceStep(now, settings, device.lastBackupAt, state.backups, state);
      if (step.kind === 'recovery') {
        const days = daysSince(device.lastBackupAt, state.silentSince!);
        // Told or not, the silence is over: a recovery notice is not worth a retry.
        await this.#notify(report, device.accountId, { kind: 'recovery', device: named, days });
        state.silentSince = null;
        state.noticedAt = null;
        return;
      }
      // Once the backups are deleted there is nothing left to remind about.
      if (step.kind !== 'notice' || state.expiredAt !== null) return;
      const notice = {
        kind: 'silence' as const,
        device: named,
        days: daysSince(now, device.lastBackupAt),
        reason: reasonOf(device),
        reminder: step.reminder,
      };
      if (await this.#notify(report, device.accountId, notice)) {
        state.silentSince = device.lastBackupAt;
        state.noticedAt = now;
      }
    });
    return report;
  }

  /**
   * checkExpiry announces, and then deletes, the backups of devices that have not backed
   * up for the account's expiry days. A pinned device, or an account with expiry off,
   * forgets the notices sent: were it unpinned, the 30 days' notice starts again.
   */
  async checkExpiry(now: number): Promise<CheckReport> {
    const report = emptyReport();
    await this.#eachDevice(async (device, settings, state) => {
      if (state.expiredAt !== null) return;
      if (settings.expiryDays === 0 || (await this.#pins.keepsDevice(device.accountId, device.id))) {
        state.firstNoticeAt = null;
        state.lastNoticeAt = null;
        return;
      }
      const named = { id: device.id, name: device.name };
      const days = daysSince(now, device.lastBackupAt);
      const step = expiryStep(now, settings.expiryDays, device.lastBackupAt, state);
      if (step.kind === 'notice') {
        const notice = { kind: 'expiry' as const, device: named, days, deletesAt: step.deletesAt };
        if (await this.#notify(report, device.accountId, notice)) {
          if (step.which === 'first') state.firstNoticeAt = now;
          else state.lastNoticeAt = now;
        }
      } else if (step.kind === 'delete') {
        await (await this.#repositories.forAccount(device.accountId)).deleteDeviceBackups(device.id);
        state.expiredAt = now;
        report.deleted++;
        await this.#audit.record({
          event: 'backups_expired',
          accountId: device.accountId,
          actor: 'server',
          ip: 'local',
          details: { deviceId: device.id, daysWithoutBackup: days, expiryDays: settings.expiryDays },
        });
        await this.#notify(report, device.accountId, { kind: 'expired', device: named, days });
      }
    });
    return report;
  }

  /** alerts lists the caller's devices that are silent past the account's threshold, with when their backups expire. */
  async alerts(caller: Caller): Promise<DeviceAlert[]> {
    const now = this.#clock.now();
    const [devices, rows, settings] = await Promise.all([
      this.#devices.backedUp(caller.accountId),
      this.#states(caller.accountId),
      this.#notifications.settingsOf(caller.accountId),
    ]);
    const alerts: DeviceAlert[] = [];
    for (const device of devices) {
      const state = this.#stateOf(device, rows.get(device.id));
      if (now - device.lastBackupAt < silenceThresholdMs(settings, state.backups)) continue;
      const expires =
        settings.expiryDays > 0 &&
        state.expiredAt === null &&
        !(await this.#pins.keepsDevice(device.accountId, device.id));
      alerts.push({
        deviceId: device.id,
        name: device.name,
        current: device.id === caller.deviceId,
        lastBackupAt: iso(device.lastBackupAt),
        silentDays: daysSince(now, device.lastBackupAt),
        reason: reasonOf(device),
        deletesAt: expires
          ? iso(plannedDeletion(now, settings.expiryDays, device.lastBackupAt, state))
          : null,
      });
    }
    return alerts;
  }
}
