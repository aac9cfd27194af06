/** Devices of an account and what their agents report about backups. */
import { type Static, Type } from 'typebox';
import { Id, Name, Ok, OptionalTimestamp, Timestamp } from './common.ts';
import { endpoint } from './endpoint.ts';

export const Outcome = Type.Union([
  Type.Literal('success'),
  Type.Literal('partial'),
  Type.Literal('failed'),
  Type.Literal('skipped'),
  Type.Literal('stopped'),
]);

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
  lastReason: Type.Union([Type.String(), Type.Null()]),
});
export type Device = Static<typeof Device>;

export const BackupReport = Type.Object({
  attemptAt: Timestamp,
  outcome: Outcome,
  /** Why it failed or was skipped, in plain words ("on battery, 34%"). */
  reason: Type.Optional(Type.String({ maxLength: 500 })),
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
