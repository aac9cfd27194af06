/**
 * Lifecycle of an account's backups (docs/lifecycle.md): pinned snapshots (kept whatever
 * retention says) and pinned devices (their backups never expire).
 */
import { Type } from 'typebox';
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
