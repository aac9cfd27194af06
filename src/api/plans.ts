/** Storage plans and the account's usage against its quota. */
import { type Static, Type } from 'typebox';
import { Count, Timestamp } from './common.ts';
import { endpoint } from './endpoint.ts';

export const PlanId = Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,31}$' });

export const Plan = Type.Object({
  id: PlanId,
  name: Type.String(),
  quotaBytes: Count,
  isDefault: Type.Boolean(),
  /** Users may switch to an offered plan themselves. */
  offered: Type.Boolean(),
});
export type Plan = Static<typeof Plan>;

/** WARNING_LEVELS are the usage percentages at which a warning is recorded. */
export const WARNING_LEVELS = [80, 90, 100] as const;

export const UsageWarning = Type.Object({
  level: Type.Integer(),
  usedBytes: Type.Integer(),
  quotaBytes: Type.Integer(),
  at: Timestamp,
});

export const PlanStatus = Type.Object({
  plan: Plan,
  usedBytes: Count,
  quotaBytes: Count,
  /** Highest warning level reached now (0, 80, 90 or 100). */
  warningLevel: Type.Integer(),
  /** Warnings recorded, newest first. */
  warnings: Type.Array(UsageWarning),
});
export type PlanStatus = Static<typeof PlanStatus>;

export const listPlans = endpoint({
  method: 'GET',
  url: '/api/plans',
  summary: 'Plans a user can choose',
  tag: 'plans',
  access: 'public',
  response: Type.Object({ plans: Type.Array(Plan) }),
});

export const getPlan = endpoint({
  method: 'GET',
  url: '/api/account/plan',
  summary: "The account's plan, usage and warnings",
  tag: 'plans',
  access: 'session',
  response: PlanStatus,
});

export const changePlan = endpoint({
  method: 'PUT',
  url: '/api/account/plan',
  summary: 'Switch to another offered plan; a plan smaller than the current usage is refused',
  tag: 'plans',
  access: 'session',
  body: Type.Object({ planId: PlanId }),
  response: PlanStatus,
});
