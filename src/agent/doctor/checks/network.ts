/**
 * checkNetwork: connected; Wi-Fi or Ethernet versus a metered link; Wi-Fi signal; the
 * server's latency; a short upload measurement, and whether the pending backup can
 * finish at that rate within `uploadWindowMs` (a night, by default).
 */
import { isCumulusError } from '../../../core/errors.ts';
import { formatBytes } from '../../../core/units.ts';
import { meteredCounts, networkBlocker } from '../../conditions.ts';
import { formatDuration, formatRate } from '../../format.ts';
import type { DoctorFacts } from '../facts.ts';
import { failed } from '../facts.ts';
import type { CheckResult, CheckStatus } from '../types.ts';
import { worst } from '../types.ts';

const UPLOAD_SAMPLE_BYTES = 2_000_000;
const WEAK_WIFI_PERCENT = 30;
const DEFAULT_WINDOW_MS = 8 * 3_600_000;

export async function checkNetwork(facts: DoctorFacts): Promise<CheckResult> {
  const base = { id: 'network', title: 'Network' } as const;
  const reading = await facts.reading();
  if (failed(reading)) {
    return { ...base, status: 'fail', evidence: [`cannot read the network state: ${reading.error.message}`] };
  }
  const inspection = await facts.settings();
  if (failed(inspection)) throw inspection.error;
  const { settings } = inspection;
  const network = reading.network;
  if (!network.online) {
    return {
      ...base,
      status: 'fail',
      evidence: ['not connected to any network'],
      fix: ['Connect to Wi-Fi or plug in an Ethernet cable.', 'Then run cumulus doctor again.'],
    };
  }
  const statuses: CheckStatus[] = ['ok'];
  const fix: string[] = [];
  const evidence = [`connected by ${network.type}${network.interface ? ` (${network.interface})` : ''}`];
  const metered =
    network.metered === 'unknown'
      ? `metered: unknown (no tool on this machine can tell), counted as ${meteredCounts(settings, network) ? 'metered' : 'unmetered'}`
      : `metered: ${network.metered ? 'yes' : 'no'}`;
  evidence.push(metered);
  const blocker = networkBlocker(settings, network);
  if (blocker) {
    statuses.push('fail');
    evidence.push(`${blocker.message}: automatic backups wait for Wi-Fi or Ethernet`);
    fix.push(
      'Connect to an unmetered Wi-Fi network or plug in Ethernet.',
      'Or, to allow backups on this link: cumulus settings set network.requireUnmetered false',
    );
  }
  if (network.type === 'wifi' && network.wifiSignalPercent !== undefined) {
    evidence.push(`Wi-Fi signal ${Math.round(network.wifiSignalPercent)}%`);
    if (network.wifiSignalPercent < WEAK_WIFI_PERCENT) {
      statuses.push('warn');
      fix.push('Move closer to the Wi-Fi router: a weak signal makes uploads slow and drop.');
    }
  }
  await measureServer(facts, evidence, statuses, fix);
  const status = worst(statuses);
  return { ...base, status, evidence, ...(fix.length > 0 && { fix }) };
}

async function measureServer(
  facts: DoctorFacts,
  evidence: string[],
  statuses: CheckStatus[],
  fix: string[],
): Promise<void> {
  const identity = await facts.identity();
  if (failed(identity) || identity === null) {
    evidence.push('server not measured: this device is not signed in');
    return;
  }
  const { server } = facts.deps;
  try {
    evidence.push(`server ${identity.serverUrl} answers in ${Math.round(await server.ping())} ms`);
  } catch (error) {
    statuses.push('fail');
    evidence.push(`server ${identity.serverUrl} does not answer: ${(error as Error).message}`);
    fix.push('Check that the server address is right and the server is running (ask its admin).');
    return;
  }
  let rate: number;
  try {
    rate = await server.measureUpload(UPLOAD_SAMPLE_BYTES);
  } catch (error) {
    // A server without a measurement route is not a network problem.
    if (!isCumulusError(error, 'not_found')) statuses.push('warn');
    evidence.push(`upload not measured: ${(error as Error).message}`);
    return;
  }
  evidence.push(`uploads at ${formatRate(rate)} (${formatBytes(UPLOAD_SAMPLE_BYTES)} sent to the server)`);
  const prediction = await facts.prediction();
  if (failed(prediction)) {
    evidence.push(`cannot tell how long the pending backup takes: ${prediction.error.message}`);
    return;
  }
  if (prediction.bytesToUpload === 0) {
    evidence.push('nothing is waiting to be uploaded');
    return;
  }
  const etaMs = (prediction.bytesToUpload / rate) * 1000;
  const window = facts.deps.uploadWindowMs ?? DEFAULT_WINDOW_MS;
  const pending = `the pending backup (${formatBytes(prediction.bytesToUpload)}) would take about ${formatDuration(etaMs)} at that rate`;
  if (etaMs <= window) {
    evidence.push(`${pending}: it can finish within ${formatDuration(window)}`);
    return;
  }
  statuses.push('warn');
  evidence.push(
    `${pending}: it cannot finish within ${formatDuration(window)}; it needs about ${Math.ceil(etaMs / window)} sessions of ${formatDuration(window)}, each resuming where the last stopped`,
  );
  fix.push(
    `Leave the device on power and network for longer than ${formatDuration(window)} (overnight); the backup resumes where it stopped.`,
    'Or use a faster connection (Ethernet rather than Wi-Fi).',
  );
}
