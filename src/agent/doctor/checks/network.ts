/**
 * checkNetwork: connected; Wi-Fi or Ethernet versus a metered link; Wi-Fi signal; the
 * server's latency (a server that does not answer is this check's fault); a short upload
 * measurement, or the last one while the server would refuse another, and whether the
 * pending backup can finish at that rate within `uploadWindowMs` (a night, by default).
 */
import { isCumulusError } from '../../../core/errors.ts';
import { formatBytes } from '../../../core/units.ts';
import { meteredCounts, networkBlocker } from '../../conditions.ts';
import { formatDuration, formatRate } from '../../format.ts';
import { blockerOf } from '../blocked.ts';
import type { DoctorFacts } from '../facts.ts';
import { failed } from '../facts.ts';
import type { CheckStatus, Verdict } from '../types.ts';
import { worst } from '../types.ts';
import {
  DEFAULT_UPLOAD_COOL_DOWN_MS,
  readUploadMeasurement,
  type UploadMeasurement,
  writeUploadMeasurement,
} from '../upload-measurement.ts';

const UPLOAD_SAMPLE_BYTES = 2_000_000;
const WEAK_WIFI_PERCENT = 30;
const DEFAULT_WINDOW_MS = 8 * 3_600_000;

export async function checkNetwork(facts: DoctorFacts): Promise<Verdict> {
  const reading = await facts.reading();
  if (failed(reading)) {
    return { status: 'fail', evidence: [`cannot read the network state: ${reading.error.message}`] };
  }
  const inspection = await facts.settings();
  if (failed(inspection)) throw inspection.error;
  const { settings } = inspection;
  const network = reading.network;
  if (!network.online) {
    return {
      status: 'fail',
      evidence: ['not connected to any network'],
      fix: ['Connect to Wi-Fi or plug in an Ethernet cable.', 'Then run cumulus doctor again.'],
    };
  }
  const statuses: CheckStatus[] = ['ok'];
  const fix: string[] = [];
  const link = `${network.type}${network.interface ? ` (${network.interface})` : ''}`;
  const evidence = [`connected by ${link}`];
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
  await measureServer(facts, link, evidence, statuses, fix);
  const status = worst(statuses);
  return { status, evidence, ...(fix.length > 0 && { fix }) };
}

async function measureServer(
  facts: DoctorFacts,
  link: string,
  evidence: string[],
  statuses: CheckStatus[],
  fix: string[],
): Promise<void> {
  const connection = await facts.connection();
  if (failed(connection)) {
    const blocker = blockerOf(connection.error);
    if (blocker !== 'network') {
      // The link itself is measured; only the server part waits on the other check.
      evidence.push(
        `server not measured: ${connection.error.message}${blocker ? ` (see the ${blocker} check)` : ''}`,
      );
      return;
    }
    statuses.push('fail');
    evidence.push(connection.error.message);
    fix.push('Check that the server address is right and the server is running (ask its admin).');
    return;
  }
  evidence.push(`server ${connection.serverUrl} answers in ${Math.round(connection.latencyMs)} ms`);
  const rate = await uploadRate(facts, link, evidence, statuses);
  if (rate === undefined) return;
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

/**
 * uploadRate measures the upload rate, or reuses the last measurement (saying how old it
 * is) within the cool-down on the same link, or when the server refuses a new one for now.
 */
async function uploadRate(
  facts: DoctorFacts,
  link: string,
  evidence: string[],
  statuses: CheckStatus[],
): Promise<number | undefined> {
  const { server, clock, paths } = facts.deps;
  const now = clock.now();
  const last = await readUploadMeasurement(paths.uploadMeasurement);
  const reuse = (earlier: UploadMeasurement, why: string) => {
    evidence.push(
      `uploads at ${formatRate(earlier.bytesPerSecond)} (measured ${formatDuration(Math.max(0, now - earlier.at))} ago on ${earlier.link}; ${why})`,
    );
    return earlier.bytesPerSecond;
  };
  const coolDown = facts.deps.uploadCoolDownMs ?? DEFAULT_UPLOAD_COOL_DOWN_MS;
  if (last && last.link === link && now - last.at >= 0 && now - last.at < coolDown)
    return reuse(last, `measured again after ${formatDuration(coolDown)}`);
  let rate: number;
  try {
    rate = await server.measureUpload(UPLOAD_SAMPLE_BYTES);
  } catch (error) {
    const message = (error as Error).message;
    if (isCumulusError(error, 'rate_limited')) {
      // The server's limit on measurements says nothing about the link.
      if (last) return reuse(last, `the server refuses a new measurement now: ${message}`);
      evidence.push(`upload not measured: the server refuses a measurement now: ${message}`);
      return undefined;
    }
    // A server without a measurement route is not a network problem.
    if (!isCumulusError(error, 'not_found')) statuses.push('warn');
    evidence.push(`upload not measured: ${message}`);
    return undefined;
  }
  await writeUploadMeasurement(paths.uploadMeasurement, { at: now, bytesPerSecond: rate, link });
  evidence.push(`uploads at ${formatRate(rate)} (${formatBytes(UPLOAD_SAMPLE_BYTES)} sent to the server)`);
  return rate;
}
