/**
 * accountServer is the AgentServer over the Cumulus server's HTTP API (the typed
 * AccountClient), as the signed-in device: it reads the sign-in state on every call, so a
 * running agent follows `cumulus login` and `logout`. Not signed in → CumulusError
 * 'unauthorized'. What the API has no route for yet is said honestly: progress is not
 * sent (the server keeps outcomes only) and the upload measurement is 'not_found'.
 */

import { currentSession } from '../../api/auth.ts';
import { reportBackup } from '../../api/devices.ts';
import { getPlan, listPlans } from '../../api/plans.ts';
import { latestRelease } from '../../api/releases.ts';
import type { StatusReport } from '../../api/status.ts';
import { getStatus } from '../../api/status.ts';
import { AccountClient } from '../../client/account-client.ts';
import { requireDeviceState } from '../../client/device-state.ts';
import { CumulusError, isCumulusError } from '../../core/errors.ts';
import type { AgentServer, OutcomeReport, ServiceLevel, ServiceStatus } from '../ports.ts';

const OUTCOMES = {
  success: 'success',
  partial: 'partial',
  failed: 'failed',
  waiting: 'skipped',
  stopped: 'stopped',
} as const;

export function accountServer(configDir: string, agentVersion: string): AgentServer {
  const client = async () => {
    const state = await requireDeviceState(configDir);
    return new AccountClient({
      serverUrl: state.serverUrl,
      token: state.token,
      agentVersion,
      timeoutMs: 15_000,
    });
  };
  return {
    async ping() {
      const c = await client();
      const started = performance.now();
      await c.call(latestRelease, {});
      return performance.now() - started;
    },
    async status() {
      return serviceStatus(await (await client()).call(getStatus, {}));
    },
    async session() {
      const c = await client();
      try {
        const session = await c.call(currentSession, {});
        return {
          valid: true,
          revoked: false,
          deviceRemoved: false,
          serverTime: Date.parse(session.serverTime),
        };
      } catch (error) {
        if (!isCumulusError(error, 'unauthorized')) throw error;
        const reason = error.details?.reason;
        return {
          valid: false,
          revoked: reason !== 'device_removed',
          deviceRemoved: reason === 'device_removed',
          serverTime: Date.now(),
        };
      }
    },
    async usage() {
      const plan = await (await client()).call(getPlan, {});
      // Per-source usage needs the key to name the sources: the storage commands show it, not the agent yet.
      return {
        usedBytes: plan.usedBytes,
        plan: { id: plan.plan.id, name: plan.plan.name, quotaBytes: plan.quotaBytes },
        sources: [],
      };
    },
    async plans() {
      const { plans } = await (await client()).call(listPlans, {});
      return plans
        .filter((p) => p.offered)
        .map((p) => ({ id: p.id, name: p.name, quotaBytes: p.quotaBytes }));
    },
    async latestRelease() {
      const { latest } = await (await client()).call(latestRelease, {});
      if (!latest)
        return { latest: agentVersion, minimum: '0.0.0', notes: 'the server has published no release' };
      return { latest: latest.version, minimum: latest.minimumVersion, notes: latest.notes };
    },
    async reportOutcome(report: OutcomeReport) {
      await (await client()).call(reportBackup, {
        body: {
          attemptAt: new Date(report.at).toISOString(),
          outcome: OUTCOMES[report.kind],
          reason: report.message.slice(0, 500),
        },
      });
    },
    async reportProgress() {
      // The server keeps the last outcome per device, not live progress: nothing to send.
    },
    async measureUpload() {
      throw new CumulusError('not_found', 'this server offers no upload measurement');
    },
  };
}

const LEVELS = { green: 'operational', amber: 'degraded', red: 'down' } as const;

/** serviceStatus maps `/api/status` to the agent's view: red is down, a maintenance in progress is maintenance. */
export function serviceStatus(report: StatusReport): ServiceStatus {
  const maintenanceNow = report.active.some((i) => i.kind === 'maintenance');
  const overall: ServiceLevel =
    report.status !== 'red' && maintenanceNow ? 'maintenance' : LEVELS[report.status];
  return {
    overall,
    components: report.components.map((c) => ({
      name: c.detail ? `${c.name} (${c.detail})` : c.name,
      status: LEVELS[c.status],
    })),
    incidents: report.active
      .filter((i) => i.kind === 'incident')
      .map((i) => ({ title: i.title, status: i.severity, startedAt: i.startsAt })),
    maintenance: [...report.active, ...report.upcoming]
      .filter((i) => i.kind === 'maintenance')
      .map((i) => ({ title: i.title, startsAt: i.startsAt, endsAt: i.endsAt ?? 'until further notice' })),
  };
}
