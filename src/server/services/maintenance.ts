/**
 * MaintenanceScheduler runs the server's named maintenance jobs (garbage collection,
 * retention, and the jobs other services register) on a schedule, one at a time. Each
 * run's start, end and outcome — a code and numbers, never a path or a message — is a row
 * of `maintenance_runs`, written before the job starts. Only the replica that holds the
 * leader lease runs jobs (services/replicas.ts); when a replica becomes the leader, a run
 * left 'running' (its leader died or lost the lease) is marked 'interrupted' and that job
 * is due at once. Time comes from the server's Clock; the timer only decides when to look
 * (docs/lifecycle.md).
 */
import { CumulusError } from '../../core/errors.ts';
import type { Clock } from '../clock.ts';
import type { Database } from '../db/database.ts';
import { newId } from './credentials.ts';
import type { LeaderGate } from './replicas.ts';

/** MaintenanceOutcome is what a run reports: a code ('ok' unless said) and counts, e.g. { accounts: 3, freedBytes: 1024 }. */
export interface MaintenanceOutcome {
  code?: string;
  numbers?: Record<string, number>;
}

/** MaintenanceJob is one named job; `run` gets the clock's time and does the work of one pass. */
export interface MaintenanceJob {
  /** Lowercase words joined by underscores, e.g. 'gc' or 'expiry'. */
  name: string;
  /** How long after a run starts the next one is due. */
  everyMs: number;
  run(now: number): Promise<MaintenanceOutcome>;
}

export type RunOutcome = 'running' | 'ok' | 'failed' | 'interrupted';

/** MaintenanceRun is one run as stored. Times are ms since the epoch. */
export interface MaintenanceRun {
  id: string;
  job: string;
  startedAt: number;
  endedAt: number | null;
  outcome: RunOutcome;
  code: string | null;
  numbers: Record<string, number>;
}

/** JobState is a job's schedule and last run, as the status page shows it. */
export interface JobState {
  job: string;
  /** Undefined for a job that ran before but is not registered in this process. */
  everyMs?: number;
  lastRun: MaintenanceRun | null;
  /** When the job is next due; null when it is not registered. */
  nextRunAt: number | null;
}

interface RunRow {
  id: string;
  job: string;
  started_at: number;
  ended_at: number | null;
  outcome: RunOutcome;
  code: string | null;
  numbers: string;
}

const JOB_NAME = /^[a-z][a-z0-9_]{0,39}$/;
/** The timer looks for due jobs at least this often. */
const DEFAULT_TICK_MS = 60_000;
/** Runs older than this are deleted when a run ends; the last run of each job always stays. */
const KEEP_RUNS_MS = 30 * 86_400_000;

function runOf(row: RunRow): MaintenanceRun {
  return {
    id: row.id,
    job: row.job,
    startedAt: Number(row.started_at),
    endedAt: row.ended_at === null ? null : Number(row.ended_at),
    outcome: row.outcome,
    code: row.code,
    numbers: JSON.parse(row.numbers) as Record<string, number>,
  };
}

/** codeOf names a failure by its error code alone: an error's message could quote a path. */
function codeOf(error: unknown): string {
  return error instanceof CumulusError ? error.code : 'error';
}

/** cleanNumbers keeps the finite numbers of an outcome, so a run stores counts and nothing else. */
function cleanNumbers(numbers: Record<string, number> | undefined): Record<string, number> {
  return Object.fromEntries(
    Object.entries(numbers ?? {}).filter(
      ([key, value]) => /^[A-Za-z]\w{0,39}$/.test(key) && Number.isFinite(value),
    ),
  );
}

export class MaintenanceScheduler {
  readonly #db: Database;
  readonly #clock: Clock;
  readonly #tickMs: number;
  readonly #leader: LeaderGate;
  /** Whether this process led at its last look: on becoming the leader it recovers interrupted runs. */
  #leading = false;
  readonly #jobs = new Map<string, MaintenanceJob>();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<unknown> = Promise.resolve();
  /** Every run waits for the one before it: jobs never overlap, whoever asks. */
  #chain: Promise<unknown> = Promise.resolve();
  #stopped = false;

  constructor(deps: { db: Database; clock: Clock; leader: LeaderGate; tickMs?: number }) {
    this.#db = deps.db;
    this.#leader = deps.leader;
    this.#clock = deps.clock;
    this.#tickMs = deps.tickMs ?? DEFAULT_TICK_MS;
  }

  /** register adds a job; its first run is due at once unless one ran within `everyMs`. */
  register(job: MaintenanceJob): void {
    if (!JOB_NAME.test(job.name)) throw new Error(`not a maintenance job name: ${job.name}`);
    if (this.#jobs.has(job.name)) throw new Error(`maintenance job ${job.name} is registered twice`);
    if (!(Number.isSafeInteger(job.everyMs) && job.everyMs > 0))
      throw new Error(`maintenance job ${job.name} needs a positive whole everyMs`);
    this.#jobs.set(job.name, job);
  }

  /** start looks for due jobs now and on every tick, until stop. */
  start(): void {
    this.#stopped = false;
    this.#schedule(0);
  }

  /** #recoverInterrupted ends every run still marked running: the leader before this one is not running it any more. */
  async #recoverInterrupted(): Promise<number> {
    const { changes } = await this.#db.run(
      "UPDATE maintenance_runs SET outcome = 'interrupted', code = 'interrupted', ended_at = ? WHERE outcome = 'running'",
      [this.#clock.now()],
    );
    return changes;
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    const tick = Math.min(this.#tickMs, ...[...this.#jobs.values()].map((job) => job.everyMs));
    this.#timer = setTimeout(() => {
      this.#running = this.runDue()
        .catch(() => [])
        .finally(() => this.#schedule(tick));
    }, delayMs);
    this.#timer.unref();
  }

  /** stop ends the timer and waits for the run under way, if any. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running.catch(() => undefined);
  }

  /** runDue runs every registered job that is due, one after another, and returns their runs; none unless this replica leads. */
  runDue(): Promise<MaintenanceRun[]> {
    return this.#serial(async () => {
      const runs: MaintenanceRun[] = [];
      const leading = this.#leader.isLeader();
      if (leading && !this.#leading) await this.#recoverInterrupted();
      this.#leading = leading;
      if (!leading) return runs;
      for (const job of this.#jobs.values()) {
        if (this.#stopped || !this.#leader.isLeader()) break;
        const state = await this.#stateOf(job.name);
        if (state.nextRunAt !== null && state.nextRunAt <= this.#clock.now()) runs.push(await this.#run(job));
      }
      return runs;
    });
  }

  /** runNow runs one registered job now, due or not, leader or not, after the run under way (tests, the admin). */
  runNow(name: string): Promise<MaintenanceRun> {
    const job = this.#jobs.get(name);
    if (job === undefined) throw new Error(`no maintenance job ${name}`);
    return this.#serial(() => this.#run(job));
  }

  #serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.#chain.catch(() => undefined).then(work);
    this.#chain = next;
    return next;
  }

  async #run(job: MaintenanceJob): Promise<MaintenanceRun> {
    const id = newId();
    const startedAt = this.#clock.now();
    await this.#db.run(
      "INSERT INTO maintenance_runs (id, job, started_at, outcome, numbers) VALUES (?, ?, ?, 'running', '{}')",
      [id, job.name, startedAt],
    );
    let outcome: RunOutcome;
    let code: string;
    let numbers: Record<string, number>;
    try {
      const result = await job.run(startedAt);
      outcome = 'ok';
      code = result.code ?? 'ok';
      numbers = cleanNumbers(result.numbers);
    } catch (error) {
      outcome = 'failed';
      code = codeOf(error);
      numbers = {};
    }
    const endedAt = this.#clock.now();
    await this.#db.run(
      'UPDATE maintenance_runs SET outcome = ?, code = ?, numbers = ?, ended_at = ? WHERE id = ?',
      [outcome, code, JSON.stringify(numbers), endedAt, id],
    );
    await this.#db.run('DELETE FROM maintenance_runs WHERE job = ? AND started_at < ? AND id <> ?', [
      job.name,
      endedAt - KEEP_RUNS_MS,
      id,
    ]);
    return { id, job: job.name, startedAt, endedAt, outcome, code, numbers };
  }

  async #lastRun(job: string): Promise<MaintenanceRun | null> {
    const row = await this.#db.get<RunRow>(
      'SELECT * FROM maintenance_runs WHERE job = ? ORDER BY started_at DESC, id DESC LIMIT 1',
      [job],
    );
    return row === undefined ? null : runOf(row);
  }

  async #stateOf(name: string): Promise<JobState> {
    const job = this.#jobs.get(name);
    const lastRun = await this.#lastRun(name);
    let nextRunAt: number | null = null;
    if (job !== undefined) {
      nextRunAt =
        lastRun === null || lastRun.outcome === 'interrupted'
          ? this.#clock.now()
          : lastRun.startedAt + job.everyMs;
    }
    return { job: name, ...(job ? { everyMs: job.everyMs } : {}), lastRun, nextRunAt };
  }

  /** jobs lists every registered job and every job with a stored run, by name. */
  async jobs(): Promise<JobState[]> {
    const stored = await this.#db.all<{ job: string }>('SELECT DISTINCT job FROM maintenance_runs');
    const names = [...new Set([...this.#jobs.keys(), ...stored.map((row) => row.job)])].sort();
    return Promise.all(names.map((name) => this.#stateOf(name)));
  }

  /** runs lists the stored runs of one job, newest first. */
  async runs(job: string, limit = 20): Promise<MaintenanceRun[]> {
    const rows = await this.#db.all<RunRow>(
      'SELECT * FROM maintenance_runs WHERE job = ? ORDER BY started_at DESC, id DESC LIMIT ?',
      [job, limit],
    );
    return rows.map(runOf);
  }
}
