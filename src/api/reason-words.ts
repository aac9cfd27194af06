/**
 * describeReason puts a device's reported reason in words. The server holds codes and
 * numbers only (condition IDs such as `power`, error codes such as `quota_exceeded`, and
 * the values measured), never words that could quote a path; the words are made here,
 * from the codes alone, for the console and for the server's notices.
 */
import { formatBytes } from '../core/units.ts';
import type { Reason } from './devices.ts';

type Values = Reason['values'];

const WORDS: Record<string, (v: Values) => string> = {
  'backup-switch': () => 'backup is switched off on the device',
  settings: (v) => (v.sources === 0 ? 'no folders are chosen to back up' : 'its settings are broken'),
  'sign-in': () => 'the device is not signed in',
  sensors: () => "the device's power and network state cannot be read",
  network: (v) => {
    if (v.online === false) return 'no network connection';
    const type = typeof v.type === 'string' ? ` (${v.type})` : '';
    if (v.metered === 'unknown') return `on a network of unknown metered state${type}, counted as metered`;
    return v.metered === true || v.type === 'cellular'
      ? `on a metered network${type}`
      : 'the network is not usable';
  },
  server: () => 'the server did not answer',
  power: (v) =>
    `on battery${typeof v.batteryPercent === 'number' ? ` (${v.batteryPercent}%)` : ''}` +
    (typeof v.allowBatteryAbovePercent === 'number' ? `, allowed above ${v.allowBatteryAbovePercent}%` : ''),
  session: (v) =>
    typeof v.idleSeconds === 'number' && typeof v.idleMinutesNeeded === 'number'
      ? `in use (screen unlocked, idle ${Math.floor(v.idleSeconds / 60)} of ${v.idleMinutesNeeded} min)`
      : 'in use (cannot tell whether the screen is locked)',
  storage: (v) =>
    typeof v.usedBytes === 'number' && typeof v.quotaBytes === 'number'
      ? `storage full (${formatBytes(v.usedBytes)} of ${formatBytes(v.quotaBytes)} used)`
      : 'storage full',
  'service-status': () => 'the Cumulus service is down',
  problems: (v) =>
    typeof v.problems === 'number'
      ? `${v.problems} file(s) could not be read`
      : 'some files could not be read',
  interrupted: () => 'interrupted: the agent shut down or the backup was cancelled',
  quota_exceeded: (v) =>
    typeof v.neededBytes === 'number' && typeof v.freeBytes === 'number'
      ? `storage full: needs ${formatBytes(v.neededBytes)}, ${formatBytes(v.freeBytes)} free`
      : 'storage full',
  network_error: () => 'the connection to the server dropped',
  update_required: () => 'the agent is too old for this server: update it (`cumulus update`)',
  // Added by the server's notices, not reported by agents.
  'no-report': () => 'it has reported no attempt since: it may be off, offline, or its agent not running',
  'signed-out': () => 'it is signed out',
};

export function describeReason(reason: Reason): string {
  if (reason.codes.length === 0) return '';
  return reason.codes
    .map((code) => (WORDS[code] ?? ((): string => code.replace(/[_-]/g, ' ')))(reason.values))
    .join('; ');
}
