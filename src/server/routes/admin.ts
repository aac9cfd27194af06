/** Admin routes: users, plans, incidents, releases, audit log. */
import type { FastifyInstance } from 'fastify';
import * as api from '../../api/admin.ts';
import { route } from '../http/route.ts';
import { adminActor } from '../services/caller.ts';
import type { Services } from '../services/index.ts';

export function adminRoutes(app: FastifyInstance, s: Services): void {
  route(app, api.listUsers, async () => ({ users: await s.admin.listUsers() }));
  route(app, api.createInvite, ({ caller, input }) => s.invites.create(adminActor(caller), input.body));
  route(app, api.disableUser, ({ caller, input }) =>
    s.admin.disable(adminActor(caller), input.params.accountId),
  );
  route(app, api.enableUser, ({ caller, input }) =>
    s.admin.enable(adminActor(caller), input.params.accountId),
  );
  route(app, api.setUserPlan, ({ caller, input }) =>
    s.admin.setPlan(adminActor(caller), input.params.accountId, input.body.planId),
  );
  route(app, api.listAllPlans, async () => ({ plans: await s.plans.list({ offeredOnly: false }) }));
  route(app, api.putPlan, ({ caller, input }) =>
    s.plans.put(adminActor(caller), input.params.planId, input.body),
  );
  route(app, api.listIncidents, async () => ({ incidents: await s.incidents.list() }));
  route(app, api.declareIncident, ({ caller, input }) => s.incidents.declare(adminActor(caller), input.body));
  route(app, api.resolveIncident, ({ caller, input }) =>
    s.incidents.resolve(adminActor(caller), input.params.incidentId),
  );
  route(app, api.updateIncident, ({ caller, input }) =>
    s.incidents.update(adminActor(caller), input.params.incidentId, input.body),
  );
  route(app, api.getServerHealth, () => s.status.health());
  route(app, api.listReleases, async () => ({ releases: await s.releases.list() }));
  route(app, api.publishRelease, ({ caller, input }) => s.releases.publish(adminActor(caller), input.body));
  route(app, api.listAudit, async ({ input }) => ({ events: await s.audit.list(input.query) }));
}
