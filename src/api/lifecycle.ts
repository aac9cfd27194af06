/**
 * Lifecycle of an account's backups (docs/lifecycle.md): pinned snapshots (kept whatever
 * retention says) and pinned devices (their backups never expire).
 */
import { type Static, Type } from 'typebox';
import { Id, Ok, Timestamp } from './common.ts';
import { endpoint } from './endpoint.ts';
import { HexId } from './repository.ts';

const SnapshotParams = Type.Object({ snapshotId: HexId });
const DeviceParams = Type.Object({ deviceId: Id });

export const Pins = Type.Object({
  snapshots: Type.Array(Type.Object({ snapshotId: HexId, pinnedAt: Timestamp })),
  devices: Type.Array(Type.Object({ deviceId: Id, pinnedAt: Timestamp })),
});

export const listPins = endpoint({
  method: 'GET',
  url: '/api/pins',
  summary: "The account's pinned snapshots and devices",
  tag: 'lifecycle',
  access: 'session',
  response: Pins,
});

export const pinSnapshot = endpoint({
  method: 'PUT',
  url: '/api/pins/snapshots/:snapshotId',
  summary: 'Pin a snapshot of the account: retention keeps it, forget refuses it until unpinned',
  tag: 'lifecycle',
  access: 'session',
  params: SnapshotParams,
  response: Ok,
});

export const unpinSnapshot = endpoint({
  method: 'DELETE',
  url: '/api/pins/snapshots/:snapshotId',
  summary: 'Unpin a snapshot: retention applies to it again',
  tag: 'lifecycle',
  access: 'session',
  params: SnapshotParams,
  response: Ok,
});

export const pinDevice = endpoint({
  method: 'PUT',
  url: '/api/pins/devices/:deviceId',
  summary: 'Pin a device of the account: its backups never expire, however long it stays silent',
  tag: 'lifecycle',
  access: 'session',
  params: DeviceParams,
  response: Ok,
});

export const unpinDevice = endpoint({
  method: 'DELETE',
  url: '/api/pins/devices/:deviceId',
  summary: 'Unpin a device: its backups expire again once it has been silent long enough',
  tag: 'lifecycle',
  access: 'session',
  params: DeviceParams,
  response: Ok,
});

/** TieredPolicy is a retention policy's windows (docs/lifecycle.md); null is "off": keep every snapshot. */
export const TieredPolicy = Type.Object({
  allHours: Type.Integer({ minimum: 0, maximum: 876_000 }),
  dailyDays: Type.Integer({ minimum: 0, maximum: 36_500 }),
  weeklyWeeks: Type.Integer({ minimum: 0, maximum: 5_200 }),
  monthlyMonths: Type.Integer({ minimum: 0, maximum: 1_200 }),
});
export const PolicySetting = Type.Union([TieredPolicy, Type.Null()]);

export const RetentionSettings = Type.Object({
  /** The account's default: the server's unless the account set its own. */
  account: PolicySetting,
  accountIsServerDefault: Type.Boolean(),
  /** Devices whose policy differs from the account's default. */
  devices: Type.Array(Type.Object({ deviceId: Id, policy: PolicySetting })),
});
export type RetentionSettings = Static<typeof RetentionSettings>;

export const getRetention = endpoint({
  method: 'GET',
  url: '/api/retention',
  summary: "The account's retention policy and the devices that override it",
  tag: 'lifecycle',
  access: 'session',
  response: RetentionSettings,
});

export const setRetention = endpoint({
  method: 'PUT',
  url: '/api/retention',
  summary:
    "Set the account's retention policy, or a device's ('off' keeps everything; 'default' goes back to the account's, or the server's)",
  tag: 'lifecycle',
  access: 'session',
  body: Type.Object({
    deviceId: Type.Optional(Id),
    policy: Type.Union([TieredPolicy, Type.Literal('off'), Type.Literal('default')]),
  }),
  response: RetentionSettings,
});

/** Forecast is when the plan is full at the devices' recent rate, retention counted (docs/lifecycle.md). */
export const Forecast = Type.Object({
  usedBytes: Type.Integer({ minimum: 0 }),
  quotaBytes: Type.Integer({ minimum: 0 }),
  /** Bytes a day the account grows now. */
  growthBytesPerDay: Type.Integer({ minimum: 0 }),
  /** Whole days until full; null when not within ten years, or without history. */
  daysUntilFull: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]),
  /** True under 14 days. */
  warning: Type.Boolean(),
  /** False until some device has two backups within the last 14 days. */
  enoughHistory: Type.Boolean(),
});
export type Forecast = Static<typeof Forecast>;

export const getForecast = endpoint({
  method: 'GET',
  url: '/api/forecast',
  summary: "When the account's plan is full at its devices' recent rate, counting what retention frees",
  tag: 'lifecycle',
  access: 'session',
  response: Forecast,
});
