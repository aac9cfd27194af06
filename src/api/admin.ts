/** Administration: users, plans, incidents, releases and the audit log. Admin sessions only. */
import { type Static, Type } from 'typebox';
import { Role } from './account.ts';
import { Count, Email, Id, Name, OptionalTimestamp, Timestamp, Version } from './common.ts';
import { endpoint } from './endpoint.ts';
import { Plan, PlanId } from './plans.ts';
import { Release } from './releases.ts';
import { ComponentIdSchema, Incident, MaintenanceJob } from './status.ts';

export const AdminUser = Type.Object({
  id: Id,
  email: Email,
  role: Role,
  planId: Type.String(),
  disabled: Type.Boolean(),
  devices: Type.Integer(),
  usedBytes: Type.Integer(),
  createdAt: Timestamp,
});
export type AdminUser = Static<typeof AdminUser>;

const UserParams = Type.Object({ accountId: Id });

export const listUsers = endpoint({
  method: 'GET',
  url: '/api/admin/users',
  summary: 'Every account',
  tag: 'admin',
  access: 'admin',
  response: Type.Object({ users: Type.Array(AdminUser) }),
});

/** Invite is a one-time invite: its token (shown once) lets the new user create the account with their own password. */
export const Invite = Type.Object({
  token: Type.String(),
  email: Email,
  role: Role,
  planId: Type.String(),
  expiresAt: Timestamp,
});
export type Invite = Static<typeof Invite>;

export const NewInvite = Type.Object({
  email: Email,
  role: Type.Optional(Role),
  planId: Type.Optional(PlanId),
});

export const createInvite = endpoint({
  method: 'POST',
  url: '/api/admin/invites',
  summary: 'Invite a new user: a one-time token, expiring in 7 days, with which they set their own password',
  tag: 'admin',
  access: 'admin',
  body: NewInvite,
  response: Invite,
});

export const disableUser = endpoint({
  method: 'POST',
  url: '/api/admin/users/:accountId/disable',
  summary: 'Disable an account: its devices are signed out and it cannot sign in',
  tag: 'admin',
  access: 'admin',
  params: UserParams,
  response: AdminUser,
});

export const enableUser = endpoint({
  method: 'POST',
  url: '/api/admin/users/:accountId/enable',
  summary: 'Enable a disabled account again',
  tag: 'admin',
  access: 'admin',
  params: UserParams,
  response: AdminUser,
});

export const setUserPlan = endpoint({
  method: 'PUT',
  url: '/api/admin/users/:accountId/plan',
  summary: "Set an account's plan (any plan, offered or not)",
  tag: 'admin',
  access: 'admin',
  params: UserParams,
  body: Type.Object({ planId: PlanId }),
  response: AdminUser,
});

export const listAllPlans = endpoint({
  method: 'GET',
  url: '/api/admin/plans',
  summary: 'Every plan, offered or not',
  tag: 'admin',
  access: 'admin',
  response: Type.Object({ plans: Type.Array(Plan) }),
});

export const putPlan = endpoint({
  method: 'PUT',
  url: '/api/admin/plans/:planId',
  summary: 'Create or change a plan',
  tag: 'admin',
  access: 'admin',
  params: Type.Object({ planId: PlanId }),
  body: Type.Object({
    name: Name,
    quotaBytes: Count,
    offered: Type.Boolean(),
    isDefault: Type.Optional(Type.Boolean()),
  }),
  response: Plan,
});

export const NewIncident = Type.Object({
  kind: Type.Optional(Type.Union([Type.Literal('incident'), Type.Literal('maintenance')])),
  title: Type.String({ minLength: 1, maxLength: 200 }),
  message: Type.Optional(Type.String({ maxLength: 5000 })),
  severity: Type.Optional(Type.Union([Type.Literal('minor'), Type.Literal('major')])),
  components: Type.Array(ComponentIdSchema, { minItems: 1 }),
  /** Defaults to now; a maintenance window may start later. */
  startsAt: Type.Optional(Timestamp),
  endsAt: Type.Optional(Timestamp),
});
export type NewIncident = Static<typeof NewIncident>;

export const listIncidents = endpoint({
  method: 'GET',
  url: '/api/admin/incidents',
  summary: 'Every incident and maintenance window, newest first',
  tag: 'admin',
  access: 'admin',
  response: Type.Object({ incidents: Type.Array(Incident) }),
});

export const declareIncident = endpoint({
  method: 'POST',
  url: '/api/admin/incidents',
  summary: 'Declare an incident or a maintenance window',
  tag: 'admin',
  access: 'admin',
  body: NewIncident,
  response: Incident,
});

export const resolveIncident = endpoint({
  method: 'POST',
  url: '/api/admin/incidents/:incidentId/resolve',
  summary: 'Mark an incident resolved (or end a maintenance window now)',
  tag: 'admin',
  access: 'admin',
  params: Type.Object({ incidentId: Id }),
  response: Incident,
});

/** IncidentUpdate changes what the status page says of an incident: every field optional, at least one given. */
export const IncidentUpdate = Type.Object(
  {
    title: Type.Optional(NewIncident.properties.title),
    message: Type.Optional(Type.String({ maxLength: 5000 })),
    severity: Type.Optional(Type.Union([Type.Literal('minor'), Type.Literal('major')])),
    components: Type.Optional(NewIncident.properties.components),
    /** A new end (a maintenance window running late), or null for none. */
    endsAt: Type.Optional(OptionalTimestamp),
  },
  { minProperties: 1 },
);
export type IncidentUpdate = Static<typeof IncidentUpdate>;

export const updateIncident = endpoint({
  method: 'PATCH',
  url: '/api/admin/incidents/:incidentId',
  summary: 'Update an open incident or maintenance window: its title, message, severity, components or end',
  tag: 'admin',
  access: 'admin',
  params: Type.Object({ incidentId: Id }),
  body: IncidentUpdate,
  response: Incident,
});

export const NewRelease = Type.Object({
  version: Version,
  notes: Type.String({ maxLength: 10000 }),
  minimumVersion: Version,
});
export type NewRelease = Static<typeof NewRelease>;

export const listReleases = endpoint({
  method: 'GET',
  url: '/api/admin/releases',
  summary: 'Every published release, newest version first',
  tag: 'admin',
  access: 'admin',
  response: Type.Object({ releases: Type.Array(Release) }),
});

export const publishRelease = endpoint({
  method: 'POST',
  url: '/api/admin/releases',
  summary: 'Publish an agent version with its notes and the minimum version still accepted',
  tag: 'admin',
  access: 'admin',
  body: NewRelease,
  response: Release,
});

export const AuditEvent = Type.Object({
  id: Type.Integer(),
  at: Timestamp,
  event: Type.String(),
  accountId: Type.Union([Id, Type.Null()]),
  actor: Type.String(),
  ip: Type.String(),
  details: Type.Record(Type.String(), Type.Unknown()),
});
export type AuditEvent = Static<typeof AuditEvent>;

export const listAudit = endpoint({
  method: 'GET',
  url: '/api/admin/audit',
  summary: 'Security events, newest first: sign-ins, approvals, revocations, deletions',
  tag: 'admin',
  access: 'admin',
  query: Type.Object({
    accountId: Type.Optional(Id),
    before: Type.Optional(Type.Integer({ minimum: 1 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  }),
  response: Type.Object({ events: Type.Array(AuditEvent) }),
});

export const ServerHealth = Type.Object({
  checkedAt: Timestamp,
  /** Where the server database is, and the bytes it takes (PostgreSQL: the whole database). */
  database: Type.Object({
    kind: Type.Union([Type.Literal('sqlite'), Type.Literal('postgres')]),
    sizeBytes: Count,
  }),
  /** Free and total bytes where packs live; null when the storage cannot say (object storage). */
  blobStorage: Type.Object({
    freeBytes: Type.Union([Count, Type.Null()]),
    totalBytes: Type.Union([Count, Type.Null()]),
  }),
  /** The maintenance jobs with their last run and next due time. */
  maintenance: Type.Array(MaintenanceJob),
});
export type ServerHealth = Static<typeof ServerHealth>;

export const getServerHealth = endpoint({
  method: 'GET',
  url: '/api/admin/health',
  summary: "The server's health for its admin: database size, free space and the maintenance jobs' last runs",
  tag: 'admin',
  access: 'admin',
  response: ServerHealth,
});
