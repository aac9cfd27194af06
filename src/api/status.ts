/** System status: live probes per component, plus incidents and maintenance an admin declares. */
import { type Static, Type } from 'typebox';
import { Id, OptionalTimestamp, Timestamp } from './common.ts';
import { endpoint } from './endpoint.ts';

export const ComponentIdSchema = Type.Union([
  Type.Literal('sign_in'),
  Type.Literal('backup_uploads'),
  Type.Literal('restore_downloads'),
  Type.Literal('database'),
  Type.Literal('blob_storage'),
]);
export type ComponentId = Static<typeof ComponentIdSchema>;

/** COMPONENTS names each component, in the order the status page lists them. */
export const COMPONENTS: Readonly<Record<ComponentId, string>> = {
  sign_in: 'Sign-in',
  backup_uploads: 'Backup uploads',
  restore_downloads: 'Restore downloads',
  database: 'Database',
  blob_storage: 'Blob storage',
};

export const Light = Type.Union([Type.Literal('green'), Type.Literal('amber'), Type.Literal('red')]);
export type Light = Static<typeof Light>;

export const ComponentStatus = Type.Object({
  id: ComponentIdSchema,
  name: Type.String(),
  status: Light,
  /** Why it is not green, in plain words; empty when green. */
  detail: Type.String(),
});
export type ComponentStatus = Static<typeof ComponentStatus>;

export const Incident = Type.Object({
  id: Id,
  kind: Type.Union([Type.Literal('incident'), Type.Literal('maintenance')]),
  title: Type.String(),
  message: Type.String(),
  severity: Type.Union([Type.Literal('minor'), Type.Literal('major')]),
  components: Type.Array(ComponentIdSchema),
  startsAt: Timestamp,
  endsAt: OptionalTimestamp,
  resolvedAt: OptionalTimestamp,
  createdAt: Timestamp,
});
export type Incident = Static<typeof Incident>;

export const ReplicaStatus = Type.Object({
  id: Type.String({ maxLength: 16 }),
  leader: Type.Boolean(),
  startedAt: Timestamp,
  heartbeatAt: Timestamp,
});
export type ReplicaStatus = Static<typeof ReplicaStatus>;
/** MaintenanceRun is one run of a maintenance job: its outcome is a code and counts, never a path. */
export const MaintenanceRun = Type.Object({
  startedAt: Timestamp,
  endedAt: OptionalTimestamp,
  outcome: Type.Union([
    Type.Literal('running'),
    Type.Literal('ok'),
    Type.Literal('failed'),
    Type.Literal('interrupted'),
  ]),
  /** 'ok', or what went wrong as an error code (e.g. 'interrupted', 'error'). */
  code: Type.Union([Type.String(), Type.Null()]),
  /** Counts of the run, e.g. { accounts: 3, freedBytes: 1024 }. */
  numbers: Type.Record(Type.String(), Type.Number()),
});
export type MaintenanceRun = Static<typeof MaintenanceRun>;

/** MaintenanceJob is one of the server's scheduled jobs (docs/lifecycle.md). */
export const MaintenanceJob = Type.Object({
  name: Type.String(),
  /** How often it runs; null for a job that ran before but this server no longer schedules. */
  everyMinutes: Type.Union([Type.Number(), Type.Null()]),
  lastRun: Type.Union([MaintenanceRun, Type.Null()]),
  nextRunAt: OptionalTimestamp,
});
export type MaintenanceJob = Static<typeof MaintenanceJob>;

/**
 * describeRun says how a job's last run went: outcome, code when not ok, and its counts
 * (the status page, the console and `cumulus server status` say it the same way).
 */
export function describeRun(job: MaintenanceJob): string {
  const run = job.lastRun;
  if (run === null) return 'not run yet';
  const counts = Object.entries(run.numbers)
    .map(([key, value]) => `${key} ${value}`)
    .join(', ');
  const code = run.code !== null && run.code !== 'ok' ? ` (${run.code})` : '';
  return `${run.outcome}${code}${counts ? `: ${counts}` : ''}`;
}

export const StatusReport = Type.Object({
  status: Light,
  checkedAt: Timestamp,
  components: Type.Array(ComponentStatus),
  /** Incidents open now and maintenance windows in progress. */
  active: Type.Array(Incident),
  /** Maintenance windows announced for later. */
  upcoming: Type.Array(Incident),
  /** Resolved incidents and finished maintenance of the last 90 days, newest first. */
  history: Type.Array(Incident),
  /** The server processes sharing this database, heard from within the last lease periods; one leads background work. */
  replicas: Type.Array(ReplicaStatus),
  /** The scheduled maintenance jobs and how their last run went, by name. */
  maintenance: Type.Array(MaintenanceJob),
});
export type StatusReport = Static<typeof StatusReport>;

export const getStatus = endpoint({
  method: 'GET',
  url: '/api/status',
  summary: 'Whether the service works now, per component, from live probes',
  tag: 'status',
  access: 'public',
  response: StatusReport,
});

export const Liveness = Type.Object({ status: Type.Literal('ok') });

/** Readiness is what a load balancer reads: the live probes of what every request needs. */
export const Readiness = Type.Object({
  status: Type.Literal('ready'),
  checkedAt: Timestamp,
  database: Light,
  blobStorage: Light,
});
export type Readiness = Static<typeof Readiness>;

export const getLiveness = endpoint({
  method: 'GET',
  url: '/api/health/live',
  summary: 'The process answers: a load balancer restarts a replica that stops answering',
  tag: 'status',
  access: 'public',
  response: Liveness,
});

export const getReadiness = endpoint({
  method: 'GET',
  url: '/api/health/ready',
  summary:
    'Whether this replica can serve requests now (its database and blob storage probes are not red); 503 `unavailable` when not, or while it shuts down',
  tag: 'status',
  access: 'public',
  response: Readiness,
});
