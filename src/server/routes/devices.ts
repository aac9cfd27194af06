/** Device routes: list, rename, remove, and the agent's backup report. */
import type { FastifyInstance } from 'fastify';
import * as api from '../../api/devices.ts';
import { done, route } from '../http/route.ts';
import type { Services } from '../services/index.ts';

export function deviceRoutes(app: FastifyInstance, s: Services): void {
  route(app, api.listDevices, async ({ caller }) => ({ devices: await s.devices.list(caller) }));
  route(app, api.renameDevice, ({ caller, input }) =>
    s.devices.rename(caller, input.params.deviceId, input.body.name),
  );
  route(app, api.removeDevice, ({ caller, input }) =>
    done(s.devices.remove(caller, input.params.deviceId, input.query.deleteBackups ?? false)),
  );
  route(app, api.reportBackup, ({ caller, input }) => s.devices.report(caller, input.body));
}
