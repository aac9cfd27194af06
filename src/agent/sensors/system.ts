/**
 * SystemSensors reads the real machine: power and network with `systeminformation`, the
 * metered state from NetworkManager (`nmcli`), screen lock and idle time from logind
 * (`loginctl`) or, on macOS, the HID idle time (`ioreg`). Every probe has a timeout, and a
 * missing tool gives 'unknown' rather than an error.
 */
import si from 'systeminformation';
import type { Clock } from '../ports.ts';
import { parseKeyValues, runTool } from './run-tool.ts';
import type { NetworkType, SensorReading, Sensors } from './sensors.ts';

const PROBE_TIMEOUT_MS = 3000;

export class SystemSensors implements Sensors {
  readonly #clock: Clock;
  readonly #env: NodeJS.ProcessEnv;

  constructor(clock: Clock, env: NodeJS.ProcessEnv = process.env) {
    this.#clock = clock;
    this.#env = env;
  }

  async read(): Promise<SensorReading> {
    const [power, network, session] = await Promise.all([readPower(), readNetwork(), this.#readSession()]);
    return { power, network, session, source: 'system', measuredAt: this.#clock.now() };
  }

  async #readSession(): Promise<SensorReading['session']> {
    if (process.platform === 'darwin') return readMacSession();
    const logind = await readLogindSession(this.#clock.now());
    if (logind) return logind;
    // Without logind, a display variable is the only sign of a desktop; its lock state is then unknown.
    return { graphical: Boolean(this.#env.DISPLAY || this.#env.WAYLAND_DISPLAY) };
  }
}

async function readPower(): Promise<SensorReading['power']> {
  const battery = await withTimeout(si.battery(), undefined);
  if (!battery?.hasBattery) return { ac: true, hasBattery: false };
  return { ac: battery.acConnected || battery.isCharging, hasBattery: true, batteryPercent: battery.percent };
}

async function readNetwork(): Promise<SensorReading['network']> {
  const [name, interfaces] = await Promise.all([
    withTimeout(si.networkInterfaceDefault(), ''),
    withTimeout(si.networkInterfaces(), []),
  ]);
  const list = Array.isArray(interfaces) ? interfaces : [interfaces];
  const iface = list.find((i) => i.iface === name && !i.internal);
  if (!name || !iface || iface.operstate === 'down') {
    return { online: false, type: 'none', metered: 'unknown' };
  }
  const nm = await readNetworkManager(iface.iface);
  const type = nm.type ?? typeFromInterface(iface.iface, iface.type);
  const network: SensorReading['network'] = {
    online: true,
    type,
    metered: nm.metered,
    interface: iface.iface,
  };
  if (type === 'wifi') {
    const wifi = await withTimeout(si.wifiConnections(), []);
    const connection = wifi.find((w) => w.iface === iface.iface) ?? wifi[0];
    if (connection && Number.isFinite(connection.quality)) network.wifiSignalPercent = connection.quality;
  }
  return network;
}

/** typeFromInterface guesses the link type from the interface's kind and its conventional name. */
function typeFromInterface(name: string, kind: string): NetworkType {
  if (/^(wwan|ppp|rmnet|wwp|usb\d)/.test(name)) return 'cellular';
  if (kind === 'wireless' || /^(wl|wlan)/.test(name)) return 'wifi';
  if (kind === 'wired' || /^(en|eth)/.test(name)) return 'ethernet';
  return 'unknown';
}

/** readNetworkManager asks NetworkManager for the device's type and metered state ("yes (guessed)" counts). */
async function readNetworkManager(
  iface: string,
): Promise<{ type?: NetworkType; metered: boolean | 'unknown' }> {
  const out = await runTool(
    'nmcli',
    ['-t', '-f', 'GENERAL.METERED,GENERAL.TYPE', 'device', 'show', iface],
    PROBE_TIMEOUT_MS,
  );
  if (out === undefined) return { metered: 'unknown' };
  const values = parseKeyValues(out, ':');
  const metered = values.get('GENERAL.METERED') ?? '';
  const nmType = values.get('GENERAL.TYPE') ?? '';
  const types: Record<string, NetworkType> = {
    wifi: 'wifi',
    ethernet: 'ethernet',
    gsm: 'cellular',
    cdma: 'cellular',
    modem: 'cellular',
  };
  return {
    type: types[nmType],
    metered: metered.startsWith('yes') ? true : metered.startsWith('no') ? false : 'unknown',
  };
}

/** readLogindSession finds this user's graphical logind session; undefined when logind cannot answer. */
async function readLogindSession(now: number): Promise<SensorReading['session'] | undefined> {
  const list = await runTool('loginctl', ['list-sessions', '--no-legend'], PROBE_TIMEOUT_MS);
  if (list === undefined) return undefined;
  const uid = String(process.getuid?.() ?? '');
  const ids = list
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((cols) => cols.length >= 2 && cols[1] === uid)
    .map((cols) => cols[0]);
  for (const id of ids) {
    const out = await runTool(
      'loginctl',
      [
        'show-session',
        id,
        '-p',
        'Type',
        '-p',
        'Active',
        '-p',
        'LockedHint',
        '-p',
        'IdleHint',
        '-p',
        'IdleSinceHint',
      ],
      PROBE_TIMEOUT_MS,
    );
    if (out === undefined) continue;
    const values = parseKeyValues(out, '=');
    if (!['x11', 'wayland', 'mir'].includes(values.get('Type') ?? '')) continue;
    const idle = values.get('IdleHint') === 'yes';
    const idleSinceUs = Number(values.get('IdleSinceHint'));
    return {
      graphical: true,
      locked: values.get('LockedHint') === 'yes',
      idleSeconds: idle && idleSinceUs > 0 ? Math.max(0, Math.round((now - idleSinceUs / 1000) / 1000)) : 0,
    };
  }
  return { graphical: false };
}

/** readMacSession reads the HID idle time; the lock state has no command-line probe, so it stays unknown. */
async function readMacSession(): Promise<SensorReading['session']> {
  const out = await runTool('ioreg', ['-c', 'IOHIDSystem', '-d', '4'], PROBE_TIMEOUT_MS);
  const match = out?.match(/"HIDIdleTime"\s*=\s*(\d+)/);
  return match ? { graphical: true, idleSeconds: Math.round(Number(match[1]) / 1e9) } : { graphical: true };
}

function withTimeout<T>(promise: Promise<T>, fallback: T): Promise<T> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(fallback), PROBE_TIMEOUT_MS);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      () => {
        clearTimeout(timer);
        resolve(fallback);
      },
    );
  });
}
