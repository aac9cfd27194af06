/**
 * IncidentsService: incidents and maintenance windows an admin declares, shown on the
 * status page with their history.
 */
import type { IncidentUpdate, NewIncident } from '../../api/admin.ts';
import type { ComponentId, Incident } from '../../api/status.ts';
import { CumulusError } from '../../core/errors.ts';
import type { Clock } from '../clock.ts';
import { iso } from '../clock.ts';
import type { Database } from '../db/database.ts';
import type { AuditLog } from './audit.ts';
import type { Actor } from './caller.ts';
import { newId } from './credentials.ts';

/** HISTORY_MS: the status page shows what ended in the last 90 days. */
const HISTORY_MS = 90 * 24 * 60 * 60_000;

interface IncidentRow {
  id: string;
  kind: Incident['kind'];
  title: string;
  message: string;
  severity: Incident['severity'];
  components: string;
  starts_at: number;
  ends_at: number | null;
  resolved_at: number | null;
  created_at: number;
}

function toIncident(row: IncidentRow): Incident {
  return {
    id: row.id,
    kind: row.kind,
    title: row.title,
    message: row.message,
    severity: row.severity,
    components: JSON.parse(row.components) as ComponentId[],
    startsAt: iso(row.starts_at),
    endsAt: iso(row.ends_at),
    resolvedAt: iso(row.resolved_at),
    createdAt: iso(row.created_at),
  };
}

/** IncidentTimeline sorts incidents for the status page at one moment. */
export interface IncidentTimeline {
  active: Incident[];
  upcoming: Incident[];
  history: Incident[];
}

export class IncidentsService {
  readonly #db: Database;
  readonly #clock: Clock;
  readonly #audit: AuditLog;

  constructor(db: Database, clock: Clock, audit: AuditLog) {
    this.#db = db;
    this.#clock = clock;
    this.#audit = audit;
  }

  async declare(actor: Actor, input: NewIncident): Promise<Incident> {
    const now = this.#clock.now();
    const kind = input.kind ?? 'incident';
    const startsAt = input.startsAt === undefined ? now : Date.parse(input.startsAt);
    const endsAt = input.endsAt === undefined ? null : Date.parse(input.endsAt);
    if (endsAt !== null && endsAt <= startsAt) {
      throw new CumulusError('invalid_input', 'an incident must end after it starts', {
        hint: 'check --starts and --ends',
      });
    }
    const id = newId();
    await this.#db.transaction(async (tx) => {
      await tx.run(
        `INSERT INTO incidents (id, kind, title, message, severity, components, starts_at, ends_at, created_at, created_by)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          id,
          kind,
          input.title,
          input.message ?? '',
          input.severity ?? (kind === 'maintenance' ? 'minor' : 'major'),
          JSON.stringify([...new Set(input.components)]),
          startsAt,
          endsAt,
          now,
          actor.actor,
        ],
      );
      await this.#audit.record(
        { event: 'incident_declared', ...actor, details: { incidentId: id, kind, title: input.title } },
        tx,
      );
    });
    return this.get(id);
  }

  async get(id: string): Promise<Incident> {
    const row = await this.#db.get<IncidentRow>('SELECT * FROM incidents WHERE id = ?', [id]);
    if (!row)
      throw new CumulusError('not_found', 'no such incident', {
        hint: 'list them with `cumulus server incident list`',
      });
    return toIncident(row);
  }

  /** resolve closes an incident (or ends a maintenance window now); resolving twice keeps the first time. */
  async resolve(actor: Actor, id: string): Promise<Incident> {
    await this.get(id);
    await this.#db.transaction(async (tx) => {
      const { changes } = await tx.run(
        'UPDATE incidents SET resolved_at = ? WHERE id = ? AND resolved_at IS NULL',
        [this.#clock.now(), id],
      );
      if (changes > 0)
        await this.#audit.record({ event: 'incident_resolved', ...actor, details: { incidentId: id } }, tx);
    });
    return this.get(id);
  }

  /**
   * update changes what the status page says of an incident still open (a resolved one is
   * history and stays as it was). An end must stay after the start.
   */
  async update(actor: Actor, id: string, changes: IncidentUpdate): Promise<Incident> {
    const current = await this.get(id);
    if (current.resolvedAt !== null) {
      throw new CumulusError('conflict', 'this incident is resolved already', {
        hint: 'declare a new incident instead',
      });
    }
    const endsAt = changes.endsAt === undefined ? current.endsAt : changes.endsAt;
    if (endsAt !== null && Date.parse(endsAt) <= Date.parse(current.startsAt)) {
      throw new CumulusError('invalid_input', 'an incident must end after it starts', {
        hint: `it started at ${current.startsAt}`,
      });
    }
    await this.#db.transaction(async (tx) => {
      await tx.run(
        'UPDATE incidents SET title = ?, message = ?, severity = ?, components = ?, ends_at = ? WHERE id = ?',
        [
          changes.title ?? current.title,
          changes.message ?? current.message,
          changes.severity ?? current.severity,
          JSON.stringify([...new Set(changes.components ?? current.components)]),
          endsAt === null ? null : Date.parse(endsAt),
          id,
        ],
      );
      await this.#audit.record(
        { event: 'incident_updated', ...actor, details: { incidentId: id, fields: Object.keys(changes) } },
        tx,
      );
    });
    return this.get(id);
  }

  async list(): Promise<Incident[]> {
    const rows = await this.#db.all<IncidentRow>(
      'SELECT * FROM incidents ORDER BY starts_at DESC, created_at DESC',
    );
    return rows.map(toIncident);
  }

  /** timeline splits incidents into active now, announced for later, and ended in the last 90 days. */
  async timeline(): Promise<IncidentTimeline> {
    const now = this.#clock.now();
    const rows = await this.#db.all<IncidentRow>(
      'SELECT * FROM incidents WHERE resolved_at IS NULL OR resolved_at > ? ORDER BY starts_at DESC, created_at DESC',
      [now - HISTORY_MS],
    );
    const timeline: IncidentTimeline = { active: [], upcoming: [], history: [] };
    for (const row of rows) {
      const ended = row.resolved_at !== null || (row.ends_at !== null && row.ends_at <= now);
      if (ended) {
        if ((row.resolved_at ?? row.ends_at!) > now - HISTORY_MS) timeline.history.push(toIncident(row));
      } else if (row.starts_at > now) {
        timeline.upcoming.push(toIncident(row));
      } else {
        timeline.active.push(toIncident(row));
      }
    }
    return timeline;
  }
}
