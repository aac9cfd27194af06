/**
 * Fakes of the agent's ports for tests: a server whose every answer is a field, an engine
 * that "uploads" numbered chunks on the fake clock (and never sends one twice), a sign-in
 * state, and a config folder with a simulated sensor profile.
 */

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock } from '../../src/agent/clock.ts';
import { type AgentContext, localContext } from '../../src/agent/context.ts';
import type { DoctorDeps } from '../../src/agent/doctor/types.ts';
import type {
  AgentServer,
  BackupOutcome,
  BackupProgress,
  BackupRunner,
  BackupSource,
  Clock,
  DesktopNotifier,
  DeviceIdentity,
  DeviceStatePort,
  OutcomeReport,
  Prediction,
  Release,
  ServiceStatus,
  SessionCheck,
  SilentDevice,
  SyncAnswer,
  SyncReport,
  Usage,
} from '../../src/agent/ports.ts';
import { SimulatedSensors } from '../../src/agent/sensors/simulated.ts';
import type { DoctorResult } from '../../src/api/devices.ts';
import { CumulusError } from '../../src/core/errors.ts';
import type { SpaceForecast } from '../../src/core/space-forecast.ts';

export const GB = 1_000_000_000;

export class FakeServer implements AgentServer {
  reachable = true;
  latencyMs = 40;
  uploadRate = 10_000_000;
  session_: SessionCheck = { valid: true, revoked: false, deviceRemoved: false, serverTime: 0 };
  usage_: Usage = { usedBytes: 1 * GB, plan: { id: 'free', name: 'Free', quotaBytes: 5 * GB }, sources: [] };
  plans_ = [
    { id: 'free', name: 'Free', quotaBytes: 5 * GB },
    { id: 'plus', name: 'Plus', quotaBytes: 50 * GB },
    { id: 'max', name: 'Max', quotaBytes: 2000 * GB },
  ];
  status_: ServiceStatus = {
    overall: 'operational',
    components: [{ name: 'backup uploads', status: 'operational' }],
    incidents: [],
    maintenance: [],
  };
  release_: Release = { latest: '0.1.0', minimum: '0.1.0' };
  silent_: SilentDevice[] = [];
  reports: OutcomeReport[] = [];
  progress: BackupProgress[] = [];
  readonly #clock: Clock;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  async #answer<T>(value: T): Promise<T> {
    if (!this.reachable) throw new CumulusError('network', 'connection refused');
    return structuredClone(value);
  }

  ping = () => this.#answer(this.latencyMs);
  status = () => this.#answer(this.status_);
  session = () =>
    this.#answer({ ...this.session_, serverTime: this.session_.serverTime || this.#clock.now() });
  usage = () => this.#answer(this.usage_);
  plans = () => this.#answer(this.plans_);
  latestRelease = () => this.#answer(this.release_);
  reportOutcome = async (report: OutcomeReport) => {
    this.reports.push(report);
  };
  reportProgress = async (progress: BackupProgress) => {
    this.progress.push(progress);
  };
  /** Upload measurements made; with `measureError` set, each one fails with it. */
  measurements = 0;
  measureError: Error | undefined;
  measureUpload = () => {
    this.measurements++;
    if (this.measureError) return Promise.reject(this.measureError);
    return this.#answer(this.uploadRate);
  };
  doctorResults: DoctorResult[] = [];
  shareDoctorResult = async (result: DoctorResult) => {
    if (!this.reachable) throw new CumulusError('network', 'connection refused');
    this.doctorResults.push(result);
  };
  syncs: SyncReport[] = [];
  /** The switch as the server holds it, and a console Back Up Now; `sync` answers as the real server does. */
  switch_: SyncAnswer['backup'] | null = null;
  backupRequest: SyncAnswer['backupRequest'] = null;
  sync = async (report: SyncReport): Promise<SyncAnswer> => {
    if (!this.reachable) throw new CumulusError('network', 'connection refused');
    this.syncs.push(structuredClone(report));
    if (report.backup.changed || this.switch_ === null)
      this.switch_ = { enabled: report.backup.enabled, changedAt: this.#clock.now() };
    if (
      report.takenRequestAt !== undefined &&
      this.backupRequest !== null &&
      this.backupRequest.requestedAt <= report.takenRequestAt
    )
      this.backupRequest = null;
    return structuredClone({ backup: this.switch_, backupRequest: this.backupRequest });
  };
  silentDevices = () => this.#answer(this.silent_);
  /** The account's space forecast; a new account has too little history to say. */
  forecast_: SpaceForecast = { growthPerDay: 0, daysUntilFull: null, warning: false, enoughHistory: false };
  forecast = () => this.#answer(this.forecast_);
}

/**
 * FakeEngine backs up `chunks` chunks, each taking `chunkMs` on the fake clock. Chunks
 * already stored are skipped, so a stopped backup resumes where it stopped.
 */
export class FakeEngine implements BackupRunner {
  chunks = 10;
  chunkMs = 1_000;
  chunkBytes = 1_000_000;
  stored = new Set<number>();
  uploads = 0;
  runs = 0;
  /** Throw a dropped connection before these upload counts (each once). */
  dropBeforeUpload = new Set<number>();
  failWith: Error | undefined;
  problems: BackupOutcome['problems'] = [];
  prediction: Prediction | undefined;
  readonly #clock: Clock;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  async run(
    _sources: BackupSource[],
    options: { signal: AbortSignal; onProgress: (p: BackupProgress) => void },
  ): Promise<BackupOutcome> {
    this.runs++;
    if (this.failWith) throw this.failWith;
    const start = this.#clock.now();
    let added = 0;
    for (let i = 0; i < this.chunks; i++) {
      if (this.stored.has(i)) continue;
      if (this.dropBeforeUpload.delete(this.uploads))
        throw new CumulusError('network', 'connection reset by peer');
      await this.#clock.sleep(this.chunkMs, options.signal);
      this.stored.add(i);
      this.uploads++;
      added += this.chunkBytes;
      options.onProgress({ filesDone: i + 1, bytesDone: (i + 1) * this.chunkBytes, bytesUploaded: added });
    }
    return {
      status: this.problems.length ? 'partial' : 'success',
      snapshotId: `snap-${this.runs}`,
      filesNew: this.chunks,
      filesChanged: 0,
      bytesAdded: added,
      durationMs: this.#clock.now() - start,
      problems: this.problems,
    };
  }

  async predict(sources: BackupSource[]): Promise<Prediction> {
    if (this.prediction) return this.prediction;
    const remaining = (this.chunks - this.stored.size) * this.chunkBytes;
    return {
      bytesToUpload: remaining,
      files: this.chunks - this.stored.size,
      sources: sources.map((s, i) => ({ path: s.path, bytesToUpload: i === 0 ? remaining : 0, files: 0 })),
    };
  }

  /** forget makes the next backup upload everything again (new data to back up). */
  forget(): void {
    this.stored.clear();
  }
}

export class FakeDeviceState implements DeviceStatePort {
  identity: DeviceIdentity | null = {
    serverUrl: 'http://127.0.0.1:1',
    deviceId: 'dev1',
    deviceName: 'laptop',
    accountKeyPresent: true,
  };
  keyProblem: string | undefined;
  read = async () => this.identity;
  verifyKey = async () => (this.keyProblem ? { ok: false, problem: this.keyProblem } : { ok: true });
}

export interface Profile {
  power?: { ac?: boolean; batteryPercent?: number; hasBattery?: boolean };
  network?: { online?: boolean; type?: string; metered?: boolean | 'unknown'; wifiSignalPercent?: number };
  session?: { graphical?: boolean; locked?: boolean; idleSeconds?: number };
}

export const GOOD_PROFILE: Profile = {
  power: { ac: true, batteryPercent: 80 },
  network: { online: true, type: 'wifi', metered: false, wifiSignalPercent: 70 },
  session: { locked: true, idleSeconds: 600 },
};

export interface World {
  dir: string;
  clock: FakeClock;
  server: FakeServer;
  engine: FakeEngine;
  deviceState: FakeDeviceState;
  ctx: AgentContext;
  profilePath: string;
  setProfile(profile: Profile): Promise<void>;
  cleanup(): Promise<void>;
}

/** makeWorld builds a config folder, a simulated profile and fakes; backup is on and one source exists. */
export async function makeWorld(
  options: { profile?: Profile; enabled?: boolean; version?: string } = {},
): Promise<World> {
  const dir = await mkdtemp(join(tmpdir(), 'cumulus-agent-'));
  const clock = new FakeClock(Date.parse('2025-03-04T00:00:00Z'));
  const server = new FakeServer(clock);
  const engine = new FakeEngine(clock);
  const deviceState = new FakeDeviceState();
  const profilePath = join(dir, 'sensors.json');
  const setProfile = (profile: Profile) => writeFile(profilePath, JSON.stringify(profile));
  await setProfile(options.profile ?? GOOD_PROFILE);
  const env = {
    HOME: join(dir, 'home'),
    CUMULUS_CONFIG_DIR: join(dir, 'config'),
    CUMULUS_SENSORS: profilePath,
  };
  const ctx = localContext(
    { clock, sensors: new SimulatedSensors(profilePath, clock), server, runner: engine, deviceState },
    env,
    options.version ?? '0.1.0',
  );
  const { mkdir } = await import('node:fs/promises');
  const source = join(dir, 'home', 'Documents');
  await mkdir(source, { recursive: true });
  await writeFile(join(source, 'notes.txt'), 'hello');
  const settings = await ctx.settings.load();
  settings.sources = [{ path: source, excludes: [] }];
  await ctx.settings.save(settings);
  if (options.enabled !== false) await ctx.backupSwitch.write(true, clock.now());
  return {
    dir,
    clock,
    server,
    engine,
    deviceState,
    ctx,
    profilePath,
    setProfile,
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** FakeNotifier records each desktop notification instead of showing it. */
export class FakeNotifier implements DesktopNotifier {
  shown: { title: string; body: string }[] = [];
  notify = async (title: string, body: string) => {
    this.shown.push({ title, body });
    return true;
  };
}

/** runningDaemon is the doctor's view of an agent that runs and answers (the one asking, in a test). */
export function runningDaemon(evidence = 'this agent is running'): DoctorDeps['daemon'] {
  return {
    health: async () => ({
      running: true,
      responsive: true,
      staleLock: false,
      stuckBackup: false,
      evidence: [evidence],
    }),
    restart: async () => [],
  };
}
