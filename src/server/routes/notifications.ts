/**
 * Notification routes: the account's notice settings and channels, a test-send, and the
 * devices that need attention (the console's banner, `cumulus status`).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import * as api from '../../api/notifications.ts';
import { done, route } from '../http/route.ts';
import type { Services } from '../services/index.ts';

/**
 * TEST_SEND_LIMIT allows each session a few test-sends every 10 minutes: enough to fix a
 * webhook by trial, too few to make the server a mail or request cannon.
 */
const TEST_SEND_LIMIT = {
  max: 5,
  timeWindow: 600_000,
  keyGenerator: (request: FastifyRequest) => `notify-test:${request.caller?.sessionId ?? request.ip}`,
};

export function notificationRoutes(app: FastifyInstance, s: Services): void {
  route(app, api.getNotifications, ({ caller }) => s.notifications.get(caller));
  route(app, api.updateNotifications, ({ caller, input }) => s.notifications.update(caller, input.body));
  route(app, api.addWebhook, ({ caller, input }) =>
    s.notifications.addWebhook(caller, input.body.url, input.body.preset),
  );
  route(app, api.removeWebhook, ({ caller, input }) =>
    done(s.notifications.removeWebhook(caller, input.params.webhookId)),
  );
  route(app, api.testNotifications, async ({ caller }) => ({ results: await s.notifications.test(caller) }), {
    rateLimit: TEST_SEND_LIMIT,
  });
  route(app, api.listAlerts, async ({ caller }) => ({ alerts: await s.lifecycle.alerts(caller) }));
}
