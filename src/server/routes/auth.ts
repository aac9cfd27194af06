/** Sign-in routes: pre-login, password, second factors, logout, and approving new devices. */
import type { FastifyInstance } from 'fastify';
import * as api from '../../api/auth.ts';
import { done, type RouteOptions, route } from '../http/route.ts';
import type { Services } from '../services/index.ts';

export function authRoutes(app: FastifyInstance, s: Services, secretRoutes: RouteOptions): void {
  route(
    app,
    api.prelogin,
    async ({ input }) => ({ kdf: await s.accounts.kdfFor(input.body.email) }),
    secretRoutes,
  );
  route(app, api.login, ({ input, ip }) => s.signIn.login(input.body, ip), secretRoutes);
  route(app, api.acceptInvite, ({ input, ip }) => s.invites.accept(input.body, ip), secretRoutes);
  route(
    app,
    api.completeWithCode,
    ({ input, ip }) => s.signIn.completeWithCode(input.body, ip),
    secretRoutes,
  );
  route(
    app,
    api.completeWithTotp,
    ({ input, ip }) => s.signIn.completeWithTotp(input.body, ip),
    secretRoutes,
  );
  route(
    app,
    api.completeWithRecoveryKey,
    ({ input, ip }) => s.signIn.completeWithRecoveryKey(input.body, ip),
    secretRoutes,
  );
  route(app, api.currentSession, ({ caller }) => s.accounts.session(caller));
  route(app, api.logout, ({ caller }) => done(s.sessions.logout(caller)));
  route(app, api.listApprovals, async ({ caller }) => ({ approvals: await s.approvals.listPending(caller) }));
  route(app, api.denyApproval, ({ caller, input }) => done(s.approvals.deny(caller, input.params.signInId)));
}
