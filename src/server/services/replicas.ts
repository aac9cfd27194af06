/**
 * Replicas: every server process sharing one database registers itself with a heartbeat,
 * and one of them at a time holds the leader lease, the right to run background work
 * (garbage collection, retention, expiry, notifications). The lease is a row with an
 * expiry that its holder renews; when the leader dies, the row runs out and the next
 * replica to renew takes it over. One replica (the embedded default) is simply the leader.
 *
 * The lease is only as good as the holder's renewals: a leader cut off from the database
 * for longer than the lease stops believing it leads (isLeader checks the expiry it last
 * wrote, with a margin), so two replicas never both run a job that trusts it.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Clock } from '../clock.ts';
import type { Database } from '../db/database.ts';

/** ReplicaRecord is one server process as the others see it. */
export interface ReplicaRecord {
  id: string;
  host: string;
  pid: number;
  startedAt: number;
  heartbeatAt: number;
  leader: boolean;
}

/** LeaderGate is what background work asks before it runs. */
export interface LeaderGate {
  isLeader(): boolean;
}

export interface ReplicaTiming {
  /** How often a replica renews its heartbeat and tries for the lease. */
  beatEveryMs: number;
  /** How long a lease holds without a renewal; a dead leader is replaced after at most this. */
  leaseMs: number;
}

export const DEFAULT_REPLICA_TIMING: ReplicaTiming = { beatEveryMs: 5_000, leaseMs: 20_000 };

const LEADER_LEASE = 'leader';
/** A replica that stopped beating without leaving (killed) is forgotten after a day. */
const FORGET_AFTER_MS = 24 * 60 * 60_000;

interface ReplicaRow {
  id: string;
  host: string;
  pid: number;
  started_at: number;
  heartbeat_at: number;
}

export class Replicas implements LeaderGate {
  readonly id = randomBytes(8).toString('hex');
  readonly #db: Database;
  readonly #clock: Clock;
  readonly #timing: ReplicaTiming;
  readonly #startedAt: number;
  /** The lease expiry this replica last wrote as holder; 0 when it does not hold it. */
  #leaseUntil = 0;
  #timer: NodeJS.Timeout | undefined;
  #beating: Promise<void> = Promise.resolve();

  constructor(db: Database, clock: Clock, timing: ReplicaTiming = DEFAULT_REPLICA_TIMING) {
    this.#db = db;
    this.#clock = clock;
    this.#timing = timing;
    this.#startedAt = clock.now();
  }

  /** start registers this replica, tries for the lease at once, then keeps beating until stop. */
  async start(): Promise<void> {
    await this.beat();
    this.#timer = setInterval(() => {
      this.#beating = this.#beating.then(() => this.beat()).catch(() => {});
    }, this.#timing.beatEveryMs);
    this.#timer.unref();
  }

  /** beat writes this replica's heartbeat and takes or renews the leader lease if it is free or its own. */
  async beat(): Promise<void> {
    const now = this.#clock.now();
    await this.#db.run(
      `INSERT INTO replicas (id, host, pid, started_at, heartbeat_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at`,
      [this.id, hostname(), process.pid, this.#startedAt, now],
    );
    await this.#db.run('DELETE FROM replicas WHERE heartbeat_at < ?', [now - FORGET_AFTER_MS]);
    const until = now + this.#timing.leaseMs;
    await this.#db.run(
      'INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, 0) ON CONFLICT (name) DO NOTHING',
      [LEADER_LEASE, this.id],
    );
    const taken = await this.#db.run(
      'UPDATE leases SET holder = ?, expires_at = ? WHERE name = ? AND (holder = ? OR expires_at < ?)',
      [this.id, until, LEADER_LEASE, this.id, now],
    );
    this.#leaseUntil = taken.changes === 1 ? until : 0;
  }

  /**
   * isLeader: this replica holds the lease and it has a beat's worth of time left, so work
   * started now is not overtaken by a successor before the next renewal.
   */
  isLeader(): boolean {
    return this.#clock.now() + this.#timing.beatEveryMs < this.#leaseUntil;
  }

  /** list returns the replicas heard from within two leases, the leader marked, newest first. */
  async list(): Promise<ReplicaRecord[]> {
    const now = this.#clock.now();
    const [rows, lease] = await Promise.all([
      this.#db.all<ReplicaRow>(
        'SELECT id, host, pid, started_at, heartbeat_at FROM replicas WHERE heartbeat_at >= ? ORDER BY started_at DESC',
        [now - 2 * this.#timing.leaseMs],
      ),
      this.#db.get<{ holder: string; expires_at: number }>(
        'SELECT holder, expires_at FROM leases WHERE name = ?',
        [LEADER_LEASE],
      ),
    ]);
    const leader = lease !== undefined && lease.expires_at >= now ? lease.holder : undefined;
    return rows.map((row) => ({
      id: row.id,
      host: row.host,
      pid: Number(row.pid),
      startedAt: Number(row.started_at),
      heartbeatAt: Number(row.heartbeat_at),
      leader: row.id === leader,
    }));
  }

  /** stop ends the heartbeat, gives the lease up for the next replica and leaves the list. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#beating;
    this.#leaseUntil = 0;
    await this.#db.run('UPDATE leases SET expires_at = 0 WHERE name = ? AND holder = ?', [
      LEADER_LEASE,
      this.id,
    ]);
    await this.#db.run('DELETE FROM replicas WHERE id = ?', [this.id]);
  }
}
