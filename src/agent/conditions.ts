/**
 * evaluateConditions decides, from the settings, one sensor reading and what is known
 * about the server, whether an automatic backup may start now. It is pure: every blocker
 * carries its message in plain words and the measured values behind it.
 *
 * Unknown metered state: a link whose metered state no tool can tell (no NetworkManager)
 * counts as `settings.network.unknownMeteredCountsAs`, 'unmetered' by default, because
 * Wi-Fi and Ethernet are unmetered far more often than not, and the other choice would
 * mean a machine without NetworkManager never backs up. A cellular link is always metered.
 */
import type { ServiceLevel } from './ports.ts';
import type { SensorReading } from './sensors/sensors.ts';
import type { Settings } from './settings.ts';

export type ConditionId =
  | 'backup-switch'
  | 'settings'
  | 'sign-in'
  | 'sensors'
  | 'network'
  | 'server'
  | 'power'
  | 'session'
  | 'storage'
  | 'service-status';

export type Values = Record<string, string | number | boolean>;

export interface Blocker {
  condition: ConditionId;
  message: string;
  values: Values;
}

export type Readiness = { ready: true } | { ready: false; blockers: Blocker[] };

/** ServerFacts is what the agent learned from the server just before deciding. */
export interface ServerFacts {
  signedIn: boolean;
  /** Why the session is unusable although the device was signed in (revoked, device removed). */
  sessionProblem?: string;
  /** Undefined when not asked (backup off, offline, not signed in). */
  reachable?: boolean;
  latencyMs?: number;
  unreachableReason?: string;
  quota?: { usedBytes: number; quotaBytes: number };
  serviceStatus?: ServiceLevel;
}

export interface ConditionInputs {
  settings: Settings;
  settingsProblems: string[];
  backupEnabled: boolean;
  /** The reading, or why the sensors could not be read. */
  reading: SensorReading | { error: string };
  server: ServerFacts;
}

export function evaluateConditions(input: ConditionInputs): Readiness {
  const { settings, reading, server } = input;
  const blockers: Blocker[] = [];
  const block = (condition: ConditionId, message: string, values: Values = {}) =>
    blockers.push({ condition, message, values });

  if (!input.backupEnabled) block('backup-switch', 'backup is switched off');
  if (input.settingsProblems.length > 0) {
    block('settings', `the settings are broken (${input.settingsProblems[0]})`, {
      problems: input.settingsProblems.length,
    });
  } else if (settings.sources.length === 0)
    block('settings', 'no folders are chosen to back up', { sources: 0 });
  if (!server.signedIn) block('sign-in', server.sessionProblem ?? 'not signed in');

  if ('error' in reading) {
    block('sensors', `cannot read the device's state (${reading.error})`);
  } else {
    const network = networkBlocker(settings, reading.network);
    if (network) block('network', network.message, network.values);
    const power = powerBlocker(settings, reading.power);
    if (power) block('power', power.message, power.values);
    const session = sessionBlocker(settings, reading.session);
    if (session) block('session', session.message, session.values);
  }

  const networkUp = !('error' in reading) && reading.network.online;
  if (server.signedIn && networkUp && server.reachable === false) {
    block(
      'server',
      `the server does not answer${server.unreachableReason ? ` (${server.unreachableReason})` : ''}`,
    );
  }
  if (settings.checks.quota && server.quota && server.quota.usedBytes >= server.quota.quotaBytes) {
    block('storage', 'storage full', {
      usedBytes: server.quota.usedBytes,
      quotaBytes: server.quota.quotaBytes,
    });
  }
  if (settings.checks.serviceStatus && server.serviceStatus === 'down') {
    block('service-status', 'the Cumulus service is down', { status: server.serviceStatus });
  }
  return blockers.length === 0 ? { ready: true } : { ready: false, blockers };
}

/** Finding is one condition that does not hold, or undefined when it holds. */
export type Finding = { message: string; values: Values } | undefined;

/** meteredCounts is whether the link counts as metered under the settings (see the file comment). */
export function meteredCounts(settings: Settings, network: SensorReading['network']): boolean {
  if (network.type === 'cellular' || network.metered === true) return true;
  return network.metered === 'unknown' && settings.network.unknownMeteredCountsAs === 'metered';
}

export function networkBlocker(settings: Settings, network: SensorReading['network']): Finding {
  if (!network.online || network.type === 'none')
    return { message: 'no network connection', values: { online: false } };
  if (!settings.network.requireUnmetered || !meteredCounts(settings, network)) return undefined;
  const values: Values = { type: network.type, metered: network.metered };
  if (network.metered === 'unknown' && network.type !== 'cellular') {
    return { message: `network of unknown metered state (${network.type}), counted as metered`, values };
  }
  return { message: `metered network (${network.type})`, values };
}

export function powerBlocker(settings: Settings, power: SensorReading['power']): Finding {
  if (power.ac || !settings.power.requireAc) return undefined;
  const percent = power.batteryPercent;
  const threshold = settings.power.allowBatteryAbovePercent;
  if (threshold !== null && percent !== undefined && percent > threshold) return undefined;
  const level = percent === undefined ? 'level unknown' : `${Math.round(percent)}%`;
  const values: Values = { ac: false, ...(percent !== undefined && { batteryPercent: percent }) };
  if (threshold === null) return { message: `on battery (${level})`, values };
  return {
    message: `on battery (${level}, backups allowed above ${threshold}%)`,
    values: { ...values, allowBatteryAbovePercent: threshold },
  };
}

export function sessionBlocker(settings: Settings, session: SensorReading['session']): Finding {
  if (!settings.session.requireLockedOrIdle || !session.graphical || session.locked === true)
    return undefined;
  const needed = settings.session.idleMinutes * 60;
  if (session.idleSeconds !== undefined && session.idleSeconds >= needed) return undefined;
  if (session.locked === undefined && session.idleSeconds === undefined) {
    return {
      message: 'cannot tell whether the screen is locked or the user idle',
      values: { graphical: true },
    };
  }
  const idleMinutes = Math.floor((session.idleSeconds ?? 0) / 60);
  return {
    message: `in use (screen unlocked, idle ${idleMinutes} of ${settings.session.idleMinutes} min)`,
    values: {
      locked: false,
      idleSeconds: session.idleSeconds ?? 0,
      idleMinutesNeeded: settings.session.idleMinutes,
    },
  };
}
