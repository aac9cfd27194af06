/**
 * The agent's ports: everything the scheduler and the doctor need from the world outside
 * the agent, kept small so that the engine (BackupRunner), the server client (AgentServer)
 * and the device's sign-in state (DeviceStatePort) plug in with a few lines. The sensors'
 * port lives in `sensors/sensors.ts`.
 */

import type { DoctorResult } from '../api/devices.ts';
import type { SpaceForecast } from '../core/space-forecast.ts';

/**
 * Clock is wall time plus a sleep. `now` may jump (the machine slept, NTP stepped); the
 * scheduler notices a jump by comparing the wall time that passed with the time it slept.
 */
export interface Clock {
  now(): number;
  /** sleep resolves after `ms`, or rejects with the signal's reason when it aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/**
 * Wakeups tells the scheduler that something it reads has changed, so it evaluates at
 * once instead of at its next poll. It returns the function that stops the watch.
 */
export type Wakeups = (onChange: () => void) => () => void;

/** BackupSource is one folder to back up and its gitignore-style excludes (relative to it). */
export interface BackupSource {
  path: string;
  excludes: string[];
}

/** BackupProgress is what a running backup reports; the agent forwards it to status and the server. */
export interface BackupProgress {
  filesDone: number;
  bytesDone: number;
  bytesUploaded: number;
  /** Totals when the engine knows them. */
  filesTotal?: number;
  bytesTotal?: number;
  /** The totals are counted in full (until then they only grow). */
  totalsFinal?: boolean;
  currentPath?: string;
}

/** BackupOutcome is a backup that finished: `partial` when some files could not be read. */
export interface BackupOutcome {
  status: 'success' | 'partial';
  snapshotId: string;
  filesNew: number;
  filesChanged: number;
  bytesAdded: number;
  durationMs: number;
  /** Files that could not be backed up, with the reason in plain words. */
  problems: { path: string; message: string }[];
}

/** Prediction is a dry scan: what the next backup would upload, in total and per source. */
export interface Prediction {
  bytesToUpload: number;
  files: number;
  sources: { path: string; bytesToUpload: number; files: number }[];
}

/**
 * BackupRunner is the engine as the agent sees it. `run` must stop promptly and cleanly
 * when `signal` aborts (rejecting with the signal's reason), leave every stored blob in
 * place so a later run does not send it again, and throw CumulusError 'network' for a
 * dropped connection (the agent retries those), 'quota_exceeded' when storage is full.
 */
export interface BackupRunner {
  run(
    sources: BackupSource[],
    options: { signal: AbortSignal; onProgress: (progress: BackupProgress) => void },
  ): Promise<BackupOutcome>;
  predict(sources: BackupSource[]): Promise<Prediction>;
}

export type ServiceLevel = 'operational' | 'degraded' | 'down' | 'maintenance';

/** ServiceStatus mirrors the server's `/api/status`. */
export interface ServiceStatus {
  overall: ServiceLevel;
  components: { name: string; status: ServiceLevel }[];
  incidents: { title: string; status: string; startedAt?: string }[];
  maintenance: { title: string; startsAt: string; endsAt: string }[];
}

export interface SessionCheck {
  /** False when the session expired or was revoked (signed out from another device or the console). */
  valid: boolean;
  revoked: boolean;
  /** The account owner or an admin removed this device. */
  deviceRemoved: boolean;
  /** The server's clock, to detect skew. */
  serverTime: number;
}

export interface Plan {
  id: string;
  name: string;
  quotaBytes: number;
}

/** Usage is the account's storage against its plan; per source as far as this device can name them. */
export interface Usage {
  usedBytes: number;
  plan: Plan;
  sources: { path: string; device: string; storedBytes: number; exclusiveBytes: number }[];
}

export interface Release {
  latest: string;
  minimum: string;
  notes?: string;
}

/**
 * OutcomeReport is the last outcome the server keeps per device for the console: codes
 * (condition IDs, error codes) and numbers only, since a message in words could name a
 * file, and the server sees no file's name or path.
 */
export interface OutcomeReport {
  at: number;
  kind: 'success' | 'partial' | 'failed' | 'waiting' | 'stopped';
  codes: string[];
  /** Strings only as short tokens from a fixed set (a network type), never words. */
  values: Record<string, number | boolean | string>;
}

/** SwitchSync is a backup switch and when it was last changed (null: never). */
export interface SwitchSync {
  enabled: boolean;
  changedAt: number | null;
}

/** SyncReport is what the agent tells the server every few seconds for the console. */
export interface SyncReport {
  /** `changed`: the device changed its switch since the last sync, so the server takes it. */
  backup: { enabled: boolean; changed: boolean };
  nextDueAt: number | null;
  /** The console's Back Up Now the agent has taken, by its time. */
  takenRequestAt?: number;
}

/** SyncAnswer is the switch as the server holds it (changedAt by its clock), and a Back Up Now not taken yet. */
export interface SyncAnswer {
  backup: SwitchSync;
  backupRequest: { requestedAt: number } | null;
}

/**
 * AgentServer is the Cumulus server as the agent needs it. Every method throws
 * CumulusError: 'unauthorized' when not signed in or the session is gone, 'network' when
 * the server does not answer.
 */
export interface AgentServer {
  /** ping measures the round trip to the server, in ms. */
  ping(): Promise<number>;
  status(): Promise<ServiceStatus>;
  session(): Promise<SessionCheck>;
  usage(): Promise<Usage>;
  plans(): Promise<Plan[]>;
  latestRelease(): Promise<Release>;
  reportOutcome(report: OutcomeReport): Promise<void>;
  reportProgress(progress: BackupProgress): Promise<void>;
  sync(report: SyncReport): Promise<SyncAnswer>;
  /** shareDoctorResult seals a doctor result under the account key and sends it for the console. */
  shareDoctorResult(result: DoctorResult): Promise<void>;
  /** measureUpload sends `bytes` of throwaway data and returns the rate in bytes per second. */
  measureUpload(bytes: number): Promise<number>;
  /** forecast says when the account's plan is full at its devices' recent rate, retention counted. */
  forecast(): Promise<SpaceForecast>;
  /** silentDevices lists the account's devices that have not backed up for longer than the account allows. */
  silentDevices(): Promise<SilentDevice[]>;
}

/** SilentDevice is a device of the account the server found silent: why, as codes and numbers, and when its backups expire. */
export interface SilentDevice {
  name: string;
  /** This device. */
  current: boolean;
  silentDays: number;
  reason: { codes: string[]; values: Record<string, number | boolean | string> };
  /** When its backups will be deleted if it does not back up (ms), or null. */
  deletesAt: number | null;
}

/** DeviceIdentity is what the device's sign-in state (src/client/device-state.ts) says about it. */
export interface DeviceIdentity {
  serverUrl: string;
  deviceId: string;
  deviceName: string;
  accountKeyPresent: boolean;
}

/** DeviceStatePort reads the sign-in state the agent never writes (login/logout own it). */
export interface DeviceStatePort {
  /** read returns the signed-in identity, or null when this device is not signed in. */
  read(): Promise<DeviceIdentity | null>;
  /** verifyKey checks that the account key is there and fits the repository; `detail` says what was checked. */
  verifyKey(): Promise<{ ok: boolean; problem?: string; detail?: string }>;
}

/**
 * DesktopNotifier shows a notification to the person at this device (adapters/desktop-notifier.ts);
 * it resolves false when it could not (no tool on this machine, no desktop session), never throws.
 */
export interface DesktopNotifier {
  notify(title: string, body: string): Promise<boolean>;
}
