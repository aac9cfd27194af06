/**
 * accountServer is the AgentServer over the Cumulus server's HTTP API (the typed
 * AccountClient), as the signed-in device: it reads the sign-in state on every call, so a
 * running agent follows `cumulus login` and `logout`. Not signed in → CumulusError
 * 'unauthorized'. Progress goes to `PUT /api/device/progress`, where the console sees it
 * until the outcome report clears it; the console's switch and Back Up Now come back from
 * `POST /api/device/sync`; a doctor result goes sealed under the account key to
 * `PUT /api/device/doctor`; the upload measurement times random bytes sent to
 * `POST /api/device/upload-test` on this machine's clock; usage names each source with
 * its path (decrypted with the account key), or leaves the sources out when the key
 * cannot open the snapshots.
 */

import { randomBytes } from 'node:crypto';
import { currentSession } from '../../api/auth.ts';
import { AGENT_VERSION_HEADER } from '../../api/common.ts';
import {
  type DoctorResult,
  reportBackup,
  reportProgress,
  shareDoctorReport,
  syncDevice,
  uploadTest,
} from '../../api/devices.ts';
import { getForecast } from '../../api/lifecycle.ts';
import { listAlerts } from '../../api/notifications.ts';
import { getPlan, listPlans } from '../../api/plans.ts';
import { latestRelease } from '../../api/releases.ts';
import type { StatusReport } from '../../api/status.ts';
import { getStatus } from '../../api/status.ts';
import { AccountClient, errorFromResponse, normalizeServerUrl } from '../../client/account-client.ts';
import { type DeviceState, requireDeviceState } from '../../client/device-state.ts';
import type { RetryPolicy } from '../../client/remote-repository.ts';
import { sealForOwner } from '../../client/sealed-report.ts';
import { namedStorageReport } from '../../client/storage-report.ts';
import { CumulusError, isCumulusError } from '../../core/errors.ts';
import type {
  AgentServer,
  BackupProgress,
  OutcomeReport,
  ServiceLevel,
  ServiceStatus,
  SilentDevice,
  SyncReport,
  Usage,
} from '../ports.ts';

const OUTCOMES = {
  success: 'success',
  partial: 'partial',
  failed: 'failed',
  waiting: 'skipped',
  stopped: 'stopped',
} as const;

const TIMEOUT_MS = 15_000;
/** USAGE_RETRY keeps the snapshot reads behind usage() from retrying a dead server for a minute. */
const USAGE_RETRY: RetryPolicy = { attempts: 2, baseDelayMs: 500, maxDelayMs: 500 };
/** UPLOAD_TIMEOUT_MS bounds an upload measurement: 8 MiB at 100 kB/s is about 80 s. */
const UPLOAD_TIMEOUT_MS = 120_000;

export function accountServer(configDir: string, agentVersion: string): AgentServer {
  const clientOf = (state: DeviceState) =>
    new AccountClient({
      serverUrl: state.serverUrl,
      token: state.token,
      agentVersion,
      timeoutMs: TIMEOUT_MS,
    });
  const client = async () => clientOf(await requireDeviceState(configDir));
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
      const state = await requireDeviceState(configDir);
      const c = clientOf(state);
      const plan = await c.call(getPlan, {});
      return {
        usedBytes: plan.usedBytes,
        plan: { id: plan.plan.id, name: plan.plan.name, quotaBytes: plan.quotaBytes },
        sources: await namedSources(state, c, agentVersion),
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
          reason: { codes: report.codes, values: report.values },
        },
      });
    },
    async reportProgress(progress: BackupProgress) {
      // Counts only: currentPath stays on the device, as every path does.
      await (await client()).call(reportProgress, {
        body: {
          at: new Date().toISOString(),
          filesDone: progress.filesDone,
          bytesDone: progress.bytesDone,
          bytesUploaded: progress.bytesUploaded,
          ...(progress.filesTotal !== undefined && { filesTotal: progress.filesTotal }),
          ...(progress.bytesTotal !== undefined && { bytesTotal: progress.bytesTotal }),
        },
      });
    },
    async sync(report: SyncReport) {
      const answer = await (await client()).call(syncDevice, {
        body: {
          backup: report.backup,
          nextDueAt: isoOrNull(report.nextDueAt),
          ...(report.takenRequestAt !== undefined && {
            takenRequestAt: new Date(report.takenRequestAt).toISOString(),
          }),
        },
      });
      return {
        backup: { enabled: answer.backup.enabled, changedAt: msOrNull(answer.backup.changedAt) },
        backupRequest: answer.backupRequest && { requestedAt: Date.parse(answer.backupRequest.requestedAt) },
      };
    },
    async shareDoctorResult(result: DoctorResult) {
      const state = await requireDeviceState(configDir);
      await clientOf(state).call(shareDoctorReport, { body: sealForOwner(state, result) });
    },
    async measureUpload(bytes: number) {
      return measureUpload(await requireDeviceState(configDir), agentVersion, bytes);
    },
    async forecast() {
      const forecast = await (await client()).call(getForecast, {});
      return {
        growthPerDay: forecast.growthBytesPerDay,
        daysUntilFull: forecast.daysUntilFull,
        warning: forecast.warning,
        enoughHistory: forecast.enoughHistory,
      };
    },
    async silentDevices(): Promise<SilentDevice[]> {
      const { alerts } = await (await client()).call(listAlerts, {});
      return alerts.map((a) => ({
        name: a.name,
        current: a.current,
        silentDays: a.silentDays,
        reason: a.reason,
        deletesAt: a.deletesAt === null ? null : Date.parse(a.deletesAt),
      }));
    },
  };
}

function isoOrNull(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

function msOrNull(text: string | null): number | null {
  return text === null ? null : Date.parse(text);
}

/**
 * namedSources is the per-source usage of every device of the account, named with the
 * paths in the snapshots; when the key cannot open them (or the report cannot be read),
 * the agent still has the totals, so it is empty rather than an error.
 */
async function namedSources(
  state: DeviceState,
  client: AccountClient,
  agentVersion: string,
): Promise<Usage['sources']> {
  try {
    const report = await namedStorageReport(state, client, { agentVersion, retry: USAGE_RETRY });
    return report.devices.flatMap((d) =>
      d.sources.map((s) => ({
        path: s.path,
        device: d.deviceName || '(removed device)',
        storedBytes: s.storedBytes,
        exclusiveBytes: s.exclusiveBytes,
      })),
    );
  } catch (error) {
    if (error instanceof CumulusError) return [];
    throw error;
  }
}

/**
 * measureUpload sends `bytes` random bytes (incompressible, so no proxy shrinks them) to
 * the upload measurement and returns bytes per second over the whole request — connection,
 * upload and answer — timed on this machine (monotonic clock, so a clock step cannot skew it).
 */
async function measureUpload(state: DeviceState, agentVersion: string, bytes: number): Promise<number> {
  const body = randomBytes(bytes);
  const url = normalizeServerUrl(state.serverUrl) + uploadTest.url;
  const started = performance.now();
  let response: Response;
  let text: string;
  try {
    response = await fetch(url, {
      method: uploadTest.method,
      headers: {
        authorization: `Bearer ${state.token}`,
        'content-type': 'application/octet-stream',
        [AGENT_VERSION_HEADER]: agentVersion,
      },
      body,
      signal: AbortSignal.timeout(UPLOAD_TIMEOUT_MS),
    });
    text = await response.text();
  } catch (error) {
    throw new CumulusError('network', `the upload measurement to ${state.serverUrl} failed`, {
      hint: 'check the network; the server may be down (its /status page says)',
      cause: error,
    });
  }
  const seconds = (performance.now() - started) / 1000;
  if (!response.ok) throw errorFromResponse(response.status, text, state.serverUrl);
  return bytes / seconds;
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
