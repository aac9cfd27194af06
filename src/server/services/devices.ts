/**
 * DevicesService: the devices of an account — registered when a sign-in succeeds, listed
 * with what their agents last reported (the last outcome and, while a backup runs, its
 * progress), renamed and removed. Every lookup is scoped to the caller's account, so
 * another account's device ID is simply not found.
 */
import type { DeviceInfo } from '../../api/auth.ts';
import {
  type BackupProgress,
  type BackupReport,
  type Device,
  PROGRESS_STALE_MS,
  type Reason,
} from '../../api/devices.ts';
import { CumulusError } from '../../core/errors.ts';
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
  signed_in: number;
}

const SELECT_DEVICES = `
  SELECT devices.*, EXISTS (SELECT 1 FROM sessions WHERE sessions.device_id = devices.id AND sessions.revoked_at IS NULL) AS signed_in
  FROM devices WHERE devices.account_id = ? AND devices.removed_at IS NULL`;

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
      lastReason: row.last_reason === null ? null : (JSON.parse(row.last_reason) as Reason),
      progress: this.#progressOf(row),
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
    await this.#db.run(
      `UPDATE devices SET last_attempt_at = ?, last_outcome = ?, last_reason = ?,
         last_backup_at = CASE WHEN ? = 1 THEN ? ELSE last_backup_at END,
         progress = NULL, progress_at = NULL, progress_received_at = NULL
       WHERE id = ? AND account_id = ?`,
      [
        attemptAt,
        report.outcome,
        report.reason ? JSON.stringify({ codes: report.reason.codes, values: report.reason.values }) : null,
        backedUp ? 1 : 0,
        attemptAt,
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
}
