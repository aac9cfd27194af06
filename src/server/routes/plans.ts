/** Plan routes: offered plans, the account's usage, self-service plan change. */
import type { FastifyInstance } from 'fastify';
import * as api from '../../api/plans.ts';
import { route } from '../http/route.ts';
import type { Services } from '../services/index.ts';

export function planRoutes(app: FastifyInstance, s: Services): void {
  route(app, api.listPlans, async () => ({ plans: await s.plans.list({ offeredOnly: true }) }));
  route(app, api.getPlan, ({ caller }) => s.plans.status(caller.accountId));
  route(app, api.changePlan, ({ caller, input }) => s.plans.change(caller, input.body.planId));
}
