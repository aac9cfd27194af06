/**
 * DevicesService: the devices of an account — registered when a sign-in succeeds, listed
 * with what their agents last reported (the last outcome and, while a backup runs, its
 * progress), renamed and removed — and the tables that hang off a device: its sealed
 * doctor result (doctor_reports), which the server stores and returns without opening. Every lookup is scoped to the caller's account, so
 * another account's device ID is simply not found.
 */
import type { DeviceInfo } from '../../api/auth.ts';
import {
  AGENT_AWAY_MS,
  type BackupProgress,
  type BackupReport,
  type BackupSwitchState,
  type Device,
  type DeviceSync,
  type DeviceSyncAnswer,
  MAX_DOCTOR_REPORT_BYTES,
  PROGRESS_STALE_MS,
  type Reason,
  type SealedDoctorReport,
} from '../../api/devices.ts';
import { CumulusError } from '../../core/errors.ts';
import { SEAL_OVERHEAD } from '../../core/seal.ts';
import type { Clock } from '../clock.ts';
import { iso } from '../clock.ts';
import type { Database, SqlExecutor } from '../db/database.ts';
import type { AccountRepositories } from './account-repositories.ts';
import type { AuditLog } from './audit.ts';
import type { Caller } from './caller.ts';
import { deviceActor } from './caller.ts';
import { newId } from './credentials.ts';
import type { SessionsService } from './sessions.ts';

interface DeviceRow {
  id: string;
  account_id: string;
  name: string;
  platform: string;
  agent_version: string;
  created_at: number;
  last_seen_at: number | null;
  last_backup_at: number | null;
  last_attempt_at: number | null;
  last_outcome: Device['lastOutcome'];
  last_reason: string | null;
  /** JSON of the progress counts (BackupProgress without `at`). */
  progress: string | null;
  progress_at: number | null;
  progress_received_at: number | null;
  /** The backup switch (0/1), null until the agent first syncs or the owner sets it. */
  backup_enabled: number | null;
  backup_changed_at: number | null;
  backup_requested_at: number | null;
  next_due_at: number | null;
  synced_at: number | null;
  last_failure_at: number | null;
  last_failure_reason: string | null;
  signed_in: number;
  doctor_report_at: number | null;
}

const SIGNED_IN =
  'EXISTS (SELECT 1 FROM sessions WHERE sessions.device_id = devices.id AND sessions.revoked_at IS NULL) AS signed_in';

const SELECT_DEVICES = `
  SELECT devices.*, ${SIGNED_IN},
    (SELECT received_at FROM doctor_reports WHERE doctor_reports.device_id = devices.id) AS doctor_report_at
  FROM devices WHERE devices.account_id = ? AND devices.removed_at IS NULL`;

/** BackedUpDevice is what the lifecycle checks need of a device that has backed up at least once. */
export interface BackedUpDevice {
  id: string;
  accountId: string;
  name: string;
  lastBackupAt: number;
  lastAttemptAt: number | null;
  lastReason: Reason | null;
  signedIn: boolean;
}

function noSuchDevice(): CumulusError {
  return new CumulusError('not_found', 'no such device in this account', {
    hint: 'list the devices with `cumulus devices list`',
  });
}

/** timeOf reads a reported time; the schema's date-time format admits a few (leap seconds) that Date cannot. */
function timeOf(text: string, field: string): number {
  const time = Date.parse(text);
  if (Number.isNaN(time)) {
    throw new CumulusError('invalid_input', `${field} is not a time this server can read: ${text}`, {
      hint: 'send an ISO 8601 time in UTC, such as 2030-01-01T02:00:00.000Z',
    });
  }
  return time;
}

function reasonOf(json: string | null): Reason | null {
  return json === null ? null : (JSON.parse(json) as Reason);
}

function switchOf(row: DeviceRow): BackupSwitchState | null {
  if (row.backup_enabled === null) return null;
  return { enabled: row.backup_enabled === 1, changedAt: iso(row.backup_changed_at) };
}

function conflict(message: string, hint: string): CumulusError {
  return new CumulusError('conflict', message, { hint });
}

export class DevicesService {
  readonly #db: Database;
  readonly #clock: Clock;
  readonly #audit: AuditLog;
  readonly #sessions: SessionsService;
  readonly #repositories: AccountRepositories;

  constructor(deps: {
    db: Database;
    clock: Clock;
    audit: AuditLog;
    sessions: SessionsService;
    repositories: AccountRepositories;
  }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
    this.#sessions = deps.sessions;
    this.#repositories = deps.repositories;
  }

  /** register adds a newly trusted device inside the sign-in's transaction and returns its ID. */
  async register(tx: SqlExecutor, accountId: string, info: DeviceInfo): Promise<string> {
    const id = newId();
    const now = this.#clock.now();
    await tx.run(
      'INSERT INTO devices (id, account_id, name, platform, agent_version, created_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      [id, accountId, info.name, info.platform, info.agentVersion, now, now],
    );
    return id;
  }

  #toDevice(row: DeviceRow, caller: Caller): Device {
    return {
      id: row.id,
      name: row.name,
      platform: row.platform,
      agentVersion: row.agent_version,
      createdAt: iso(row.created_at),
      lastSeenAt: iso(row.last_seen_at),
      current: row.id === caller.deviceId,
      signedIn: row.signed_in === 1,
      lastBackupAt: iso(row.last_backup_at),
      lastAttemptAt: iso(row.last_attempt_at),
      lastOutcome: row.last_outcome,
      lastReason: reasonOf(row.last_reason),
      progress: this.#progressOf(row),
      backup: switchOf(row),
      backupRequestedAt: iso(row.backup_requested_at),
      nextDueAt: iso(row.next_due_at),
      agentSyncedAt: iso(row.synced_at),
      agentActive: row.synced_at !== null && this.#clock.now() - row.synced_at <= AGENT_AWAY_MS,
      lastFailure:
        row.last_failure_at === null
          ? null
          : { at: iso(row.last_failure_at)!, reason: reasonOf(row.last_failure_reason) },
      doctorReportAt: iso(row.doctor_report_at),
    };
  }

  /** #progressOf is the row's progress unless none was reported or the last report is stale (the agent died). */
  #progressOf(row: DeviceRow): BackupProgress | null {
    if (row.progress === null || row.progress_at === null || row.progress_received_at === null) return null;
    if (this.#clock.now() - row.progress_received_at > PROGRESS_STALE_MS) return null;
    return { at: iso(row.progress_at), ...(JSON.parse(row.progress) as Omit<BackupProgress, 'at'>) };
  }

  async list(caller: Caller): Promise<Device[]> {
    const rows = await this.#db.all<DeviceRow>(`${SELECT_DEVICES} ORDER BY devices.created_at`, [
      caller.accountId,
    ]);
    return rows.map((row) => this.#toDevice(row, caller));
  }

  async get(caller: Caller, deviceId: string): Promise<Device> {
    const row = await this.#db.get<DeviceRow>(`${SELECT_DEVICES} AND devices.id = ?`, [
      caller.accountId,
      deviceId,
    ]);
    if (!row) throw noSuchDevice();
    return this.#toDevice(row, caller);
  }

  /**
   * backedUp lists the devices that are not removed and have backed up at least once, of
   * one account or of every enabled account.
   */
  async backedUp(accountId?: string): Promise<BackedUpDevice[]> {
    const rows = await this.#db.all<DeviceRow & { last_backup_at: number }>(
      `SELECT devices.*, ${SIGNED_IN}
       FROM devices JOIN accounts ON accounts.id = devices.account_id
       WHERE devices.removed_at IS NULL AND devices.last_backup_at IS NOT NULL AND accounts.disabled_at IS NULL
         ${accountId === undefined ? '' : 'AND devices.account_id = ?'}
       ORDER BY devices.account_id, devices.created_at`,
      accountId === undefined ? [] : [accountId],
    );
    return rows.map((row) => ({
      id: row.id,
      accountId: row.account_id,
      name: row.name,
      lastBackupAt: row.last_backup_at,
      lastAttemptAt: row.last_attempt_at,
      lastReason: row.last_reason === null ? null : (JSON.parse(row.last_reason) as Reason),
      signedIn: row.signed_in === 1,
    }));
  }

  async rename(caller: Caller, deviceId: string, name: string): Promise<Device> {
    await this.#db.transaction(async (tx) => {
      const { changes } = await tx.run(
        'UPDATE devices SET name = ? WHERE id = ? AND account_id = ? AND removed_at IS NULL',
        [name, deviceId, caller.accountId],
      );
      if (changes === 0) throw noSuchDevice();
      await this.#audit.record(
        {
          event: 'device_renamed',
          accountId: caller.accountId,
          ...deviceActor(caller),
          details: { deviceId, name },
        },
        tx,
      );
    });
    return this.get(caller, deviceId);
  }

  /**
   * remove takes a device out of the account: its sessions end at once. With
   * deleteBackups its snapshots are deleted too (garbage collection frees the space);
   * without, they stay restorable from the other devices.
   */
  async remove(caller: Caller, deviceId: string, deleteBackups: boolean): Promise<void> {
    await this.#db.transaction(async (tx) => {
      const { changes } = await tx.run(
        'UPDATE devices SET removed_at = ? WHERE id = ? AND account_id = ? AND removed_at IS NULL',
        [this.#clock.now(), deviceId, caller.accountId],
      );
      if (changes === 0) throw noSuchDevice();
      await tx.run('DELETE FROM doctor_reports WHERE device_id = ? AND account_id = ?', [
        deviceId,
        caller.accountId,
      ]);
      const revoked = await this.#sessions.revokeWhere(tx, { accountId: caller.accountId, deviceId });
      await this.#audit.record(
        {
          event: 'device_removed',
          accountId: caller.accountId,
          ...deviceActor(caller),
          details: { deviceId, deleteBackups, revokedSessions: revoked },
        },
        tx,
      );
    });
    if (deleteBackups)
      await (await this.#repositories.forAccount(caller.accountId)).deleteDeviceBackups(deviceId);
  }

  /**
   * report records the caller's device's last backup attempt and clears its progress (the
   * backup is over); a success or partial run is also its last backup.
   */
  async report(caller: Caller, report: BackupReport): Promise<Device> {
    const attemptAt = timeOf(report.attemptAt, 'attemptAt');
    const backedUp = report.outcome === 'success' || report.outcome === 'partial';
    const failed = report.outcome === 'failed';
    const reason = report.reason
      ? JSON.stringify({ codes: report.reason.codes, values: report.reason.values })
      : null;
    await this.#db.run(
      `UPDATE devices SET last_attempt_at = ?, last_outcome = ?, last_reason = ?,
         last_backup_at = CASE WHEN ? = 1 THEN ? ELSE last_backup_at END,
         last_failure_at = CASE WHEN ? = 1 THEN ? ELSE last_failure_at END,
         last_failure_reason = CASE WHEN ? = 1 THEN ? ELSE last_failure_reason END,
         progress = NULL, progress_at = NULL, progress_received_at = NULL
       WHERE id = ? AND account_id = ?`,
      [
        attemptAt,
        report.outcome,
        reason,
        backedUp ? 1 : 0,
        attemptAt,
        failed ? 1 : 0,
        attemptAt,
        failed ? 1 : 0,
        reason,
        caller.deviceId,
        caller.accountId,
      ],
    );
    return this.get(caller, caller.deviceId);
  }

  /**
   * progress records the running backup's progress on the caller's device. A report
   * measured before the device's last outcome, or before the progress already stored,
   * arrived late (agents send it without waiting) and is ignored, so a finished backup
   * does not reappear as running.
   */
  async progress(caller: Caller, progress: BackupProgress): Promise<void> {
    const { filesDone, bytesDone, bytesUploaded, filesTotal, bytesTotal } = progress;
    // Only the known fields are kept: the schema lets unknown ones through.
    const counts = { filesDone, bytesDone, bytesUploaded, filesTotal, bytesTotal };
    const measuredAt = timeOf(progress.at, 'at');
    await this.#db.run(
      `UPDATE devices SET progress = ?, progress_at = ?, progress_received_at = ?
       WHERE id = ? AND account_id = ?
         AND (last_attempt_at IS NULL OR last_attempt_at < ?) AND (progress_at IS NULL OR progress_at < ?)`,
      [
        JSON.stringify(counts),
        measuredAt,
        this.#clock.now(),
        caller.deviceId,
        caller.accountId,
        measuredAt,
        measuredAt,
      ],
    );
  }

  /** setBackup is the console's backup switch for one of the caller's devices; the agent applies it at its next sync. */
  async setBackup(caller: Caller, deviceId: string, enabled: boolean): Promise<Device> {
    const { changes } = await this.#db.run(
      `UPDATE devices SET backup_enabled = ?, backup_changed_at = ?
       WHERE id = ? AND account_id = ? AND removed_at IS NULL AND platform <> 'web'`,
      [enabled ? 1 : 0, this.#clock.now(), deviceId, caller.accountId],
    );
    if (changes === 0) await this.#refuseBrowser(caller, deviceId);
    return this.get(caller, deviceId);
  }

  /**
   * requestBackup is the console's Back Up Now: it waits on the device's row until its
   * agent takes it. A device that is signed out or switched off cannot back up, so the
   * request is refused rather than left waiting; a second press keeps the first request.
   */
  async requestBackup(caller: Caller, deviceId: string): Promise<Device> {
    const device = await this.get(caller, deviceId);
    if (device.platform === 'web') await this.#refuseBrowser(caller, deviceId);
    if (!device.signedIn) {
      throw conflict(
        `${device.name} is signed out, so it cannot back up`,
        'sign it in again on the device with `cumulus login`',
      );
    }
    if (device.backup?.enabled === false) {
      throw conflict(`backup is switched off on ${device.name}`, 'switch its backup on first');
    }
    await this.#db.run(
      `UPDATE devices SET backup_requested_at = COALESCE(backup_requested_at, ?)
       WHERE id = ? AND account_id = ?`,
      [this.#clock.now(), deviceId, caller.accountId],
    );
    return this.get(caller, deviceId);
  }

  /** #refuseBrowser explains why a device that exists cannot do what was asked, or says it is not found. */
  async #refuseBrowser(caller: Caller, deviceId: string): Promise<never> {
    const device = await this.get(caller, deviceId);
    throw conflict(
      `${device.name} is a browser: it holds no backups`,
      'switch backup on, or back up now, on a device that runs the agent',
    );
  }

  /**
   * sync is the agent's few-seconds round trip: its switch and next due time in; out, the
   * switch as the server holds it and a Back Up Now it has not taken. The device's switch
   * is taken when the device changed it since its last sync (or the server has none yet),
   * dated by the server's clock: changes are ordered by when they reach the server, the
   * device's or the console's, whatever the device's clock says. A request the agent says
   * it took (by its time) is forgotten, unless a newer one came since.
   */
  async sync(caller: Caller, sync: DeviceSync): Promise<DeviceSyncAnswer> {
    const nextDueAt = sync.nextDueAt === null ? null : timeOf(sync.nextDueAt, 'nextDueAt');
    const takenAt = sync.takenRequestAt === undefined ? null : timeOf(sync.takenRequestAt, 'takenRequestAt');
    const now = this.#clock.now();
    const row = await this.#db.transaction(async (tx) => {
      await tx.run(
        `UPDATE devices SET
           backup_changed_at = CASE WHEN ? = 1 OR backup_enabled IS NULL THEN ? ELSE backup_changed_at END,
           backup_enabled = CASE WHEN ? = 1 OR backup_enabled IS NULL THEN ? ELSE backup_enabled END,
           backup_requested_at = CASE WHEN backup_requested_at <= ? THEN NULL ELSE backup_requested_at END,
           next_due_at = ?, synced_at = ?
         WHERE id = ? AND account_id = ?`,
        [
          sync.backup.changed ? 1 : 0,
          now,
          sync.backup.changed ? 1 : 0,
          sync.backup.enabled ? 1 : 0,
          takenAt,
          nextDueAt,
          now,
          caller.deviceId,
          caller.accountId,
        ],
      );
      return tx.get<Pick<DeviceRow, 'backup_enabled' | 'backup_changed_at' | 'backup_requested_at'>>(
        'SELECT backup_enabled, backup_changed_at, backup_requested_at FROM devices WHERE id = ? AND account_id = ?',
        [caller.deviceId, caller.accountId],
      );
    });
    if (!row) throw noSuchDevice();
    return {
      backup: { enabled: row.backup_enabled === 1, changedAt: iso(row.backup_changed_at) },
      backupRequest: row.backup_requested_at === null ? null : { requestedAt: iso(row.backup_requested_at)! },
    };
  }

  /**
   * shareDoctorReport keeps the caller's device's latest sealed doctor result, replacing
   * the one before. The server cannot open it: it checks only its size.
   */
  async shareDoctorReport(caller: Caller, report: SealedDoctorReport): Promise<void> {
    const sealed = Buffer.from(report.sealed, 'base64');
    if (sealed.length > MAX_DOCTOR_REPORT_BYTES || sealed.length < SEAL_OVERHEAD) {
      throw new CumulusError(
        'too_large',
        `a sealed doctor result is ${SEAL_OVERHEAD} to ${MAX_DOCTOR_REPORT_BYTES} bytes; this one is ${sealed.length}`,
        { hint: 'send fewer lines of evidence' },
      );
    }
    await this.#db.run(
      `INSERT INTO doctor_reports (device_id, account_id, blob_id, sealed, received_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (device_id) DO UPDATE SET blob_id = excluded.blob_id, sealed = excluded.sealed,
         received_at = excluded.received_at`,
      [caller.deviceId, caller.accountId, report.id, sealed, this.#clock.now()],
    );
  }

  /** doctorReport is one of the caller's devices' latest sealed doctor result; none is a 404. */
  async doctorReport(
    caller: Caller,
    deviceId: string,
  ): Promise<{ report: SealedDoctorReport; receivedAt: string }> {
    const row = await this.#db.get<{ blob_id: string; sealed: Uint8Array; received_at: number }>(
      `SELECT doctor_reports.blob_id, doctor_reports.sealed, doctor_reports.received_at FROM doctor_reports
       JOIN devices ON devices.id = doctor_reports.device_id
       WHERE doctor_reports.device_id = ? AND doctor_reports.account_id = ? AND devices.removed_at IS NULL`,
      [deviceId, caller.accountId],
    );
    if (!row) {
      await this.get(caller, deviceId);
      throw new CumulusError('not_found', 'this device has sent no doctor result yet', {
        hint: 'run `cumulus doctor` on the device; its running agent also sends one when a backup fails or waits',
      });
    }
    return {
      report: { id: row.blob_id, sealed: Buffer.from(row.sealed).toString('base64') },
      receivedAt: iso(row.received_at),
    };
  }
}
