/** Account routes: keys, password, recovery key, TOTP, sessions. */
import type { FastifyInstance } from 'fastify';
import * as api from '../../api/account.ts';
import { done, type RouteOptions, route } from '../http/route.ts';
import type { Services } from '../services/index.ts';

export function accountRoutes(app: FastifyInstance, s: Services, secretRoutes: RouteOptions): void {
  route(app, api.getAccount, ({ caller }) => s.accounts.get(caller));
  route(app, api.getKeys, ({ caller }) => s.accounts.getKeys(caller));
  route(app, api.setUpKeys, ({ caller, input }) => done(s.accounts.setUpKeys(caller, input.body)));
  route(
    app,
    api.changePassword,
    ({ caller, input }) => done(s.accounts.changePassword(caller, input.body)),
    secretRoutes,
  );
  route(
    app,
    api.replaceRecoveryKey,
    ({ caller, input }) => done(s.accounts.replaceRecoveryKey(caller, input.body)),
    secretRoutes,
  );
  route(app, api.beginTotp, ({ caller, input }) => s.totp.begin(caller, input.body.authKey), secretRoutes);
  route(
    app,
    api.confirmTotp,
    ({ caller, input }) => done(s.totp.confirm(caller, input.body.code)),
    secretRoutes,
  );
  route(
    app,
    api.disableTotp,
    ({ caller, input }) => done(s.totp.disable(caller, input.body.authKey)),
    secretRoutes,
  );
  route(app, api.listSessions, async ({ caller }) => ({ sessions: await s.sessions.list(caller) }));
  route(app, api.revokeSession, ({ caller, input }) =>
    done(s.sessions.revoke(caller, input.params.sessionId)),
  );
  route(app, api.signOutAll, async ({ caller, input }) => ({
    revoked: await s.sessions.revokeAll(caller, input.body.includeCurrent ?? false),
  }));
}
