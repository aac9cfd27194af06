/** Devices of an account and what their agents report about backups. */
import { type Static, Type } from 'typebox';
import { Count, Id, Name, Ok, OptionalTimestamp, Timestamp } from './common.ts';
import { endpoint } from './endpoint.ts';

export const Outcome = Type.Union([
  Type.Literal('success'),
  Type.Literal('partial'),
  Type.Literal('failed'),
  Type.Literal('skipped'),
  Type.Literal('stopped'),
]);

/** BackupProgress is where a running backup is: files and bytes read so far, bytes uploaded, and the totals when known. */
export const BackupProgress = Type.Object({
  /** When the agent measured it. */
  at: Timestamp,
  filesDone: Count,
  bytesDone: Count,
  bytesUploaded: Count,
  filesTotal: Type.Optional(Count),
  bytesTotal: Type.Optional(Count),
});
export type BackupProgress = Static<typeof BackupProgress>;

/**
 * PROGRESS_STALE_MS is how long the last progress of a device stays shown without a
 * newer one: agents report every few seconds, but one pack over a slow link can take
 * minutes; after this long the agent has died or lost the network mid-backup.
 */
export const PROGRESS_STALE_MS = 10 * 60_000;

/**
 * Reason says why a backup attempt ended as it did, as codes and numbers only — condition
 * IDs (`power`, `network`), error codes (`quota_exceeded`), `problems` — never words,
 * names or paths: a message could quote a file's path, and the server must never see one.
 * The device puts them in words.
 */
export const Reason = Type.Object(
  {
    codes: Type.Array(Type.String({ pattern: '^[a-z][a-z0-9_-]{0,39}$' }), { maxItems: 10 }),
    values: Type.Record(
      Type.String({ pattern: '^[A-Za-z][A-Za-z0-9]{0,39}$' }),
      // One schema of three types: a union would let the validator coerce `false` to 0. A
      // string is a short token the agent takes from a fixed set (a network type: `cellular`).
      Type.Unsafe<number | boolean | string>({
        type: ['number', 'boolean', 'string'],
        pattern: '^[a-z][a-z-]{0,15}$',
      }),
      { maxProperties: 20, additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
export type Reason = Static<typeof Reason>;

/** BackupSwitchState is a device's backup on/off switch and when it was last changed (null: never). */
export const BackupSwitchState = Type.Object({
  enabled: Type.Boolean(),
  changedAt: OptionalTimestamp,
});
export type BackupSwitchState = Static<typeof BackupSwitchState>;

/** LastFailure is the device's last failed backup: when, and why in codes and numbers. */
export const LastFailure = Type.Object({ at: Timestamp, reason: Type.Union([Reason, Type.Null()]) });

export const Device = Type.Object({
  id: Id,
  name: Type.String(),
  platform: Type.String(),
  agentVersion: Type.String(),
  createdAt: Timestamp,
  lastSeenAt: OptionalTimestamp,
  /** The device making the request. */
  current: Type.Boolean(),
  /** Signed in: at least one session is live. */
  signedIn: Type.Boolean(),
  lastBackupAt: OptionalTimestamp,
  lastAttemptAt: OptionalTimestamp,
  lastOutcome: Type.Union([Outcome, Type.Null()]),
  lastReason: Type.Union([Reason, Type.Null()]),
  /** The running backup's last progress; null when none runs or the last report is stale. */
  progress: Type.Union([BackupProgress, Type.Null()]),
  /** The backup switch as the device and the console last set it; null until its agent first syncs. */
  backup: Type.Union([BackupSwitchState, Type.Null()]),
  /** A "Back Up Now" from the console that the device's agent has not taken yet. */
  backupRequestedAt: OptionalTimestamp,
  /** When the device's agent expects its next automatic backup, as it last said. */
  nextDueAt: OptionalTimestamp,
  /** When the device's agent last synced with the server (every few seconds while it runs). */
  agentSyncedAt: OptionalTimestamp,
  /** The agent synced within AGENT_AWAY_MS (by the server's clock): it is running and online. */
  agentActive: Type.Boolean(),
  lastFailure: Type.Union([LastFailure, Type.Null()]),
  /** When the device last sent its sealed `cumulus doctor` result (the troubleshooter), or null. */
  doctorReportAt: OptionalTimestamp,
});
export type Device = Static<typeof Device>;

export const BackupReport = Type.Object({
  attemptAt: Timestamp,
  outcome: Outcome,
  /** Why it failed, was partial or was skipped ({ codes: ['power'], values: { batteryPercent: 34 } }). */
  reason: Type.Optional(Reason),
});
export type BackupReport = Static<typeof BackupReport>;

const DeviceParams = Type.Object({ deviceId: Id });

export const listDevices = endpoint({
  method: 'GET',
  url: '/api/devices',
  summary: "The account's devices with their last backup",
  tag: 'devices',
  access: 'session',
  response: Type.Object({ devices: Type.Array(Device) }),
});

export const renameDevice = endpoint({
  method: 'PATCH',
  url: '/api/devices/:deviceId',
  summary: 'Rename a device',
  tag: 'devices',
  access: 'session',
  params: DeviceParams,
  body: Type.Object({ name: Name }),
  response: Device,
});

export const removeDevice = endpoint({
  method: 'DELETE',
  url: '/api/devices/:deviceId',
  summary: 'Remove a device: its sessions end; with deleteBackups its snapshots are deleted too',
  tag: 'devices',
  access: 'session',
  params: DeviceParams,
  query: Type.Object({ deleteBackups: Type.Optional(Type.Boolean()) }),
  response: Ok,
});

export const reportBackup = endpoint({
  method: 'POST',
  url: '/api/device/report',
  summary: "The agent reports this device's last backup attempt and its outcome",
  tag: 'devices',
  access: 'session',
  backup: true,
  body: BackupReport,
  response: Device,
});

export const reportProgress = endpoint({
  method: 'PUT',
  url: '/api/device/progress',
  summary: "The agent reports the progress of this device's running backup (cleared by its outcome report)",
  tag: 'devices',
  access: 'session',
  backup: true,
  body: BackupProgress,
  response: Ok,
});

export const setDeviceBackup = endpoint({
  method: 'PUT',
  url: '/api/devices/:deviceId/backup',
  summary: "Switch a device's backup on or off; its agent applies it at its next sync (seconds)",
  tag: 'devices',
  access: 'session',
  params: DeviceParams,
  body: Type.Object({ enabled: Type.Boolean() }, { additionalProperties: false }),
  response: Device,
});

export const requestBackup = endpoint({
  method: 'POST',
  url: '/api/devices/:deviceId/backup-now',
  summary: "Back Up Now: the device's agent takes the request at its next sync (seconds) and backs up",
  tag: 'devices',
  access: 'session',
  params: DeviceParams,
  response: Device,
});

/**
 * SYNC_EVERY_MS is how often a running agent syncs with the server: how soon a Back Up Now
 * or a switch from the console reaches it.
 */
export const SYNC_EVERY_MS = 5_000;

/** AGENT_AWAY_MS is how long without a sync means the device's agent is not running, or offline. */
export const AGENT_AWAY_MS = 6 * SYNC_EVERY_MS;

export const DeviceSync = Type.Object(
  {
    /**
     * The device's switch; `changed` when the device changed it since its last sync
     * (`cumulus enable` / `disable`): the server then takes it, else it answers its own.
     * The server orders the changes by when they reach it, so no device's clock matters.
     */
    backup: Type.Object(
      { enabled: Type.Boolean(), changed: Type.Boolean() },
      { additionalProperties: false },
    ),
    nextDueAt: OptionalTimestamp,
    /** The console request the agent has taken (its requestedAt): the server forgets it. */
    takenRequestAt: Type.Optional(Timestamp),
  },
  { additionalProperties: false },
);
export type DeviceSync = Static<typeof DeviceSync>;

export const DeviceSyncAnswer = Type.Object({
  backup: BackupSwitchState,
  /** A console Back Up Now waiting for this device, or null. */
  backupRequest: Type.Union([Type.Object({ requestedAt: Timestamp }), Type.Null()]),
});
export type DeviceSyncAnswer = Static<typeof DeviceSyncAnswer>;

export const syncDevice = endpoint({
  method: 'POST',
  url: '/api/device/sync',
  summary: "The agent's sync: its switch and next due time in, the console's switch and Back Up Now out",
  tag: 'devices',
  access: 'session',
  body: DeviceSync,
  response: DeviceSyncAnswer,
});

/**
 * MAX_DOCTOR_REPORT_BYTES bounds a sealed doctor result (64 KiB): a dozen checks with their
 * evidence and steps compress to a few KiB; the agent shortens the evidence to fit.
 */
export const MAX_DOCTOR_REPORT_BYTES = 64 << 10;

/**
 * SealedDoctorReport is a device's latest `cumulus doctor` result as the server holds it:
 * opaque. `sealed` is the JSON result sealed under the account key exactly as a blob is
 * (docs/format.md: zstd, AES-256-GCM bound to `id`, the keyed hash of the plaintext), base64;
 * only the owner's devices and browsers, which hold the key, can open it.
 */
export const SealedDoctorReport = Type.Object(
  {
    id: Type.String({ pattern: '^[0-9a-f]{64}$' }),
    sealed: Type.String({
      pattern: '^[A-Za-z0-9+/]*={0,2}$',
      minLength: 4,
      maxLength: Math.ceil(MAX_DOCTOR_REPORT_BYTES / 3) * 4,
    }),
  },
  { additionalProperties: false },
);
export type SealedDoctorReport = Static<typeof SealedDoctorReport>;

/**
 * DoctorResult is what a SealedDoctorReport holds once opened (never sent in the clear):
 * the device's checks as `cumulus doctor --json` prints them, with the device it came from
 * (so a report cannot be shown under another device) and when it ran.
 */
export const DoctorResult = Type.Object({
  version: Type.Literal(1),
  deviceId: Id,
  at: Timestamp,
  ok: Type.Boolean(),
  checks: Type.Array(
    Type.Object({
      id: Type.String(),
      title: Type.String(),
      status: Type.Union([
        Type.Literal('ok'),
        Type.Literal('warn'),
        Type.Literal('fail'),
        Type.Literal('skip'),
      ]),
      evidence: Type.Array(Type.String()),
      fix: Type.Optional(Type.Array(Type.String())),
      blockedBy: Type.Optional(Type.String()),
      /** What `cumulus doctor --fix` on the device can do about it. */
      autoFix: Type.Optional(Type.String()),
    }),
  ),
});
export type DoctorResult = Static<typeof DoctorResult>;

export const shareDoctorReport = endpoint({
  method: 'PUT',
  url: '/api/device/doctor',
  summary: "The agent sends this device's latest doctor result, sealed under the account key",
  tag: 'devices',
  access: 'session',
  body: SealedDoctorReport,
  response: Ok,
});

export const getDoctorReport = endpoint({
  method: 'GET',
  url: '/api/devices/:deviceId/doctor',
  summary: "A device's latest sealed doctor result (404 when it has sent none); the browser opens it",
  tag: 'devices',
  access: 'session',
  params: DeviceParams,
  response: Type.Object({ report: SealedDoctorReport, receivedAt: Timestamp }),
});

/** MAX_UPLOAD_TEST_BYTES is the largest upload measurement the server accepts (8 MiB). */
export const MAX_UPLOAD_TEST_BYTES = 8 << 20;

/**
 * uploadTest takes throwaway bytes as `application/octet-stream` (at most
 * MAX_UPLOAD_TEST_BYTES, else 413), discards them and answers how many arrived, so the
 * agent can time an upload. It is registered by hand (raw body) with this definition.
 */
export const uploadTest = endpoint({
  method: 'POST',
  url: '/api/device/upload-test',
  summary: 'Upload measurement: up to 8 MiB of raw bytes, read and discarded; rate-limited per session',
  tag: 'devices',
  access: 'session',
  response: Type.Object({ bytes: Count }),
});
