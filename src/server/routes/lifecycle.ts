/** Lifecycle routes: pins of snapshots and devices, and retention policies (docs/lifecycle.md). */
import type { FastifyInstance } from 'fastify';
import * as api from '../../api/lifecycle.ts';
import { done, route } from '../http/route.ts';
import type { Services } from '../services/index.ts';

export function lifecycleRoutes(app: FastifyInstance, s: Services): void {
  route(app, api.listPins, ({ caller }) => s.pins.list(caller));
  route(app, api.pinSnapshot, ({ caller, input }) =>
    done(s.pins.pinSnapshot(caller, input.params.snapshotId)),
  );
  route(app, api.unpinSnapshot, ({ caller, input }) =>
    done(s.pins.unpinSnapshot(caller, input.params.snapshotId)),
  );
  route(app, api.pinDevice, ({ caller, input }) => done(s.pins.pinDevice(caller, input.params.deviceId)));
  route(app, api.unpinDevice, ({ caller, input }) => done(s.pins.unpinDevice(caller, input.params.deviceId)));
  route(app, api.getRetention, ({ caller }) => s.retention.settings(caller));
  route(app, api.setRetention, ({ caller, input }) => s.retention.set(caller, input.body));
  route(app, api.getForecast, ({ caller }) => s.forecast.forecast(caller.accountId));
}
