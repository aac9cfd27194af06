/**
 * StatusService answers "does the service work right now?" per component, from live
 * probes — a real query and write in the database, a real write, read and delete where
 * account data lives — plus the incidents and maintenance an admin declared. Probe results
 * are kept a few seconds so the public status page cannot be used to load the server.
 */
import type { ServerHealth } from '../../api/admin.ts';
import {
  COMPONENTS,
  type ComponentId,
  type ComponentStatus,
  type Incident,
  type Light,
  type MaintenanceJob,
  type Readiness,
  type StatusReport,
} from '../../api/status.ts';
import { CumulusError } from '../../core/errors.ts';
import type { Clock } from '../clock.ts';
import { iso } from '../clock.ts';
import type { Database } from '../db/database.ts';
import type { AccountRecords } from './account-records.ts';
import type { AccountRepositories } from './account-repositories.ts';
import type { IncidentsService } from './incidents.ts';
import type { JobState, MaintenanceScheduler } from './maintenance.ts';
import type { Replicas } from './replicas.ts';

/** ProbeResult is one probe's light and, when not green, why. */
export interface ProbeResult {
  status: Light;
  detail: string;
  /** The probe ran out of time rather than failing: the status page shows it red, readiness does not act on it. */
  late?: boolean;
}

const GREEN: ProbeResult = { status: 'green', detail: '' };
const RANK: Record<Light, number> = { green: 0, amber: 1, red: 2 };
const PROBE_TIMEOUT_MS = 5000;
const SLOW_PROBE_MS = 1000;
/** Below this much free space, or this fraction of the disk, blob storage turns amber. */
const LOW_FREE_BYTES = 1024 ** 3;
const LOW_FREE_FRACTION = 0.02;

function worst(...results: ProbeResult[]): ProbeResult {
  const bad = results.filter((result) => result.status !== 'green');
  if (bad.length === 0) return GREEN;
  const status = bad.reduce<Light>(
    (light, result) => (RANK[result.status] > RANK[light] ? result.status : light),
    'green',
  );
  return { status, detail: [...new Set(bad.map((result) => result.detail))].join('; ') };
}

function describe(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  const message = error instanceof Error ? error.message : String(error);
  return code ? `${code}: ${message}` : message;
}

/** timed runs a probe with a deadline: a probe that hangs is as red as one that fails. */
async function timed(clock: Clock, probe: () => Promise<ProbeResult>, what: string): Promise<ProbeResult> {
  const started = clock.now();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<ProbeResult>((resolve) => {
    timer = setTimeout(
      () =>
        resolve({
          status: 'red',
          detail: `${what} did not answer within ${PROBE_TIMEOUT_MS / 1000} s`,
          late: true,
        }),
      PROBE_TIMEOUT_MS,
    );
  });
  try {
    const result = await Promise.race([probe(), deadline]);
    if (result.status === 'green' && clock.now() - started > SLOW_PROBE_MS) {
      return { status: 'amber', detail: `${what} is slow (${clock.now() - started} ms)` };
    }
    return result;
  } catch (error) {
    return { status: 'red', detail: `${what} failed: ${describe(error)}` };
  } finally {
    clearTimeout(timer);
  }
}

interface Probes {
  database: ProbeResult;
  blobStorage: ProbeResult;
  at: number;
}

export class StatusService {
  readonly #db: Database;
  readonly #records: AccountRecords;
  readonly #clock: Clock;
  readonly #repositories: AccountRepositories;
  readonly #incidents: IncidentsService;
  readonly #replicas: Replicas;
  readonly #maintenance: MaintenanceScheduler;
  readonly #cacheMs: number;
  #probes: Promise<Probes> | undefined;
  #probesStartedAt = 0;
  /** The last run of the probes that finished. */
  #settled: Probes | undefined;

  constructor(deps: {
    db: Database;
    records: AccountRecords;
    clock: Clock;
    repositories: AccountRepositories;
    incidents: IncidentsService;
    replicas: Replicas;
    maintenance: MaintenanceScheduler;
    cacheMs: number;
  }) {
    this.#maintenance = deps.maintenance;
    this.#db = deps.db;
    this.#records = deps.records;
    this.#clock = deps.clock;
    this.#repositories = deps.repositories;
    this.#incidents = deps.incidents;
    this.#replicas = deps.replicas;
    this.#cacheMs = deps.cacheMs;
  }

  async report(): Promise<StatusReport> {
    const probes = await this.#probe();
    const timeline = await this.#incidents
      .timeline()
      .catch(() => ({ active: [], upcoming: [], history: [] }));
    const replicas = await this.#replicas.list().catch(() => []);
    const backend = worst(probes.database, probes.blobStorage);
    const measured: Record<ComponentId, ProbeResult> = {
      sign_in: probes.database,
      backup_uploads: backend,
      restore_downloads: backend,
      database: probes.database,
      blob_storage: probes.blobStorage,
    };
    const components: ComponentStatus[] = (Object.keys(COMPONENTS) as ComponentId[]).map((id) => {
      const result = worst(
        measured[id],
        ...timeline.active.filter((i) => i.components.includes(id)).map(declared),
      );
      return { id, name: COMPONENTS[id], ...result };
    });
    return {
      status: worst(...components).status,
      checkedAt: iso(probes.at),
      components,
      active: timeline.active,
      upcoming: timeline.upcoming,
      history: timeline.history,
      // Public: a short ID and times only; hosts and process IDs are for `cumulus server status`.
      replicas: replicas.map((r) => ({
        id: r.id.slice(0, 8),
        leader: r.leader,
        startedAt: iso(r.startedAt),
        heartbeatAt: iso(r.heartbeatAt),
      })),
      maintenance: (await this.#maintenance.jobs().catch(() => [])).map(jobOut),
    };
  }

  /** health is what the admin watches: the database's size, free space where packs live, the jobs' last runs. */
  async health(): Promise<ServerHealth> {
    const [sizeBytes, storage, jobs] = await Promise.all([
      this.#db.sizeBytes(),
      this.#repositories.probeStorage(),
      this.#maintenance.jobs(),
    ]);
    return {
      checkedAt: iso(this.#clock.now()),
      database: { kind: this.#db.kind, sizeBytes },
      blobStorage: { freeBytes: storage.freeBytes ?? null, totalBytes: storage.totalBytes ?? null },
      maintenance: jobs.map(jobOut),
    };
  }

  /**
   * readiness answers from the live probes alone (a declared incident does not take a
   * replica out of a load balancer), and throws 'unavailable' when either failed.
   */
  async readiness(): Promise<Readiness> {
    // The last finished probes answer at once while a fresh run goes on behind them: a load
    // balancer's check must not wait out a probe that is slow only because the replica is
    // busy, or every busy replica leaves the pool at once.
    const running = this.#probe();
    const probes = this.#settled ?? (await running);
    // Only a probe that failed takes the replica out. One that is merely late says the
    // database or storage (shared by every replica) or this busy replica is slow, and
    // taking every slow replica out at once would leave the balancer nothing to send to.
    const failing = [probes.database, probes.blobStorage].filter((p) => p.status === 'red' && !p.late);
    if (failing.length > 0) {
      throw new CumulusError(
        'unavailable',
        `this server is not ready: ${failing.map((p) => p.detail).join('; ')}`,
        {
          hint: 'the status page at /status says more; the load balancer sends requests to another replica meanwhile',
        },
      );
    }
    return {
      status: 'ready',
      checkedAt: iso(probes.at),
      database: probes.database.status,
      blobStorage: probes.blobStorage.status,
    };
  }

  /** #probe runs the probes, or shares a run started less than the cache time ago. */
  #probe(): Promise<Probes> {
    const now = this.#clock.now();
    if (this.#probes === undefined || now - this.#probesStartedAt >= this.#cacheMs) {
      this.#probesStartedAt = now;
      this.#probes = this.#runProbes(now).then((probes) => {
        this.#settled = probes;
        return probes;
      });
    }
    return this.#probes;
  }

  async #runProbes(at: number): Promise<Probes> {
    const [database, blobStorage] = await Promise.all([
      timed(this.#clock, () => this.#probeDatabase(), 'the database'),
      timed(this.#clock, () => this.#probeBlobStorage(), 'blob storage'),
    ]);
    return { database, blobStorage, at };
  }

  /** #probeDatabase reads and writes a row, as a sign-in or a commit would. */
  async #probeDatabase(): Promise<ProbeResult> {
    await this.#records.count();
    await this.#db.run(
      'INSERT INTO probes (id, checked_at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at',
      [this.#clock.now()],
    );
    return GREEN;
  }

  async #probeBlobStorage(): Promise<ProbeResult> {
    const health = await this.#repositories.probeStorage();
    if (health.freeBytes !== undefined && health.totalBytes !== undefined) {
      const low =
        health.freeBytes < LOW_FREE_BYTES || health.freeBytes < health.totalBytes * LOW_FREE_FRACTION;
      if (low)
        return {
          status: 'amber',
          detail: `blob storage is almost full (${(health.freeBytes / 1024 ** 2).toFixed(0)} MiB free)`,
        };
    }
    return GREEN;
  }
}

function jobOut(state: JobState): MaintenanceJob {
  const run = state.lastRun;
  return {
    name: state.job,
    everyMinutes: state.everyMs === undefined ? null : state.everyMs / 60_000,
    lastRun: run && {
      startedAt: iso(run.startedAt),
      endedAt: iso(run.endedAt),
      outcome: run.outcome,
      code: run.code,
      numbers: run.numbers,
    },
    nextRunAt: iso(state.nextRunAt),
  };
}

/** declared is the light an admin-declared incident or maintenance gives the components it names. */
function declared(incident: Incident): ProbeResult {
  const status: Light = incident.kind === 'incident' && incident.severity === 'major' ? 'red' : 'amber';
  return {
    status,
    detail: `${incident.kind === 'maintenance' ? 'maintenance' : 'incident'}: ${incident.title}`,
  };
}
