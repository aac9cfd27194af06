/**
 * SimulatedSensors reads a sensor profile: the JSON file named by `CUMULUS_SENSORS`,
 * re-read on every reading so a test or a demo flips the machine's state by rewriting it.
 * The schema is in docs/agent.md; a bad profile is a CumulusError naming the bad field.
 */
import { readFile } from 'node:fs/promises';
import { CumulusError } from '../../core/errors.ts';
import type { Clock } from '../ports.ts';
import type { NetworkType, SensorReading, Sensors } from './sensors.ts';

const NETWORK_TYPES: NetworkType[] = ['wifi', 'ethernet', 'cellular', 'none', 'unknown'];

export class SimulatedSensors implements Sensors {
  readonly #path: string;
  readonly #clock: Clock;

  constructor(path: string, clock: Clock) {
    this.#path = path;
    this.#clock = clock;
  }

  async read(): Promise<SensorReading> {
    let text: string;
    try {
      text = await readFile(this.#path, 'utf8');
    } catch (error) {
      throw new CumulusError('invalid_input', `cannot read the sensor profile ${this.#path}`, {
        hint: 'fix CUMULUS_SENSORS or unset it to read the real machine',
        cause: error,
      });
    }
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (error) {
      throw profileError(this.#path, `is not valid JSON (${(error as Error).message})`);
    }
    return { ...parseProfile(data, this.#path), source: this.#path, measuredAt: this.#clock.now() };
  }
}

/** parseProfile validates a sensor profile and fills in the defaults documented in docs/agent.md. */
export function parseProfile(
  data: unknown,
  path = 'the sensor profile',
): Omit<SensorReading, 'source' | 'measuredAt'> {
  const field = new FieldReader(path);
  const root = field.object(data, '', ['power', 'network', 'session']);

  const power = field.object(root.power ?? {}, 'power', ['ac', 'batteryPercent', 'hasBattery']);
  const batteryPercent = field.optionalPercent(power.batteryPercent, 'power.batteryPercent');
  const hasBattery =
    field.optionalBoolean(power.hasBattery, 'power.hasBattery') ?? batteryPercent !== undefined;
  const ac = field.optionalBoolean(power.ac, 'power.ac') ?? !hasBattery;

  const network = field.object(root.network ?? {}, 'network', [
    'online',
    'type',
    'metered',
    'wifiSignalPercent',
    'interface',
  ]);
  const type = network.type ?? 'ethernet';
  if (!NETWORK_TYPES.includes(type as NetworkType)) {
    throw profileError(
      path,
      `network.type must be one of ${NETWORK_TYPES.join(', ')} (got ${JSON.stringify(type)})`,
    );
  }
  const online = field.optionalBoolean(network.online, 'network.online') ?? type !== 'none';
  if (
    network.metered !== undefined &&
    typeof network.metered !== 'boolean' &&
    network.metered !== 'unknown'
  ) {
    throw profileError(
      path,
      `network.metered must be true, false or "unknown" (got ${JSON.stringify(network.metered)})`,
    );
  }
  if (network.interface !== undefined && typeof network.interface !== 'string') {
    throw profileError(path, 'network.interface must be a string');
  }
  const wifiSignalPercent = field.optionalPercent(network.wifiSignalPercent, 'network.wifiSignalPercent');

  const session = field.object(root.session ?? {}, 'session', ['graphical', 'locked', 'idleSeconds']);
  const locked = field.optionalBoolean(session.locked, 'session.locked');
  const idleSeconds = field.optionalNumber(session.idleSeconds, 'session.idleSeconds');
  const graphical =
    field.optionalBoolean(session.graphical, 'session.graphical') ??
    (locked !== undefined || idleSeconds !== undefined);

  return {
    power: { ac, hasBattery, ...(batteryPercent !== undefined && { batteryPercent }) },
    network: {
      online,
      type: type as NetworkType,
      metered:
        (network.metered as boolean | 'unknown' | undefined) ??
        (type === 'cellular' ? true : type === 'unknown' ? 'unknown' : false),
      ...(wifiSignalPercent !== undefined && { wifiSignalPercent }),
      ...(network.interface !== undefined && { interface: network.interface as string }),
    },
    session: {
      graphical,
      ...(locked !== undefined && { locked }),
      ...(idleSeconds !== undefined && { idleSeconds }),
    },
  };
}

function profileError(path: string, problem: string): CumulusError {
  return new CumulusError('invalid_input', `sensor profile ${path}: ${problem}`, {
    hint: 'see "Simulated sensors" in docs/agent.md for the profile format',
  });
}

/** FieldReader checks one field at a time and names it in the error. */
class FieldReader {
  readonly #path: string;

  constructor(path: string) {
    this.#path = path;
  }

  object(value: unknown, name: string, allowed: string[]): Record<string, unknown> {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw profileError(this.#path, `${name || 'the profile'} must be a JSON object`);
    }
    for (const key of Object.keys(value)) {
      if (!allowed.includes(key)) {
        throw profileError(
          this.#path,
          `unknown field ${name ? `${name}.` : ''}${key} (allowed: ${allowed.join(', ')})`,
        );
      }
    }
    return value as Record<string, unknown>;
  }

  optionalBoolean(value: unknown, name: string): boolean | undefined {
    if (value === undefined || typeof value === 'boolean') return value;
    throw profileError(this.#path, `${name} must be true or false (got ${JSON.stringify(value)})`);
  }

  optionalNumber(value: unknown, name: string): number | undefined {
    if (value === undefined) return undefined;
    if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value;
    throw profileError(this.#path, `${name} must be a number ≥ 0 (got ${JSON.stringify(value)})`);
  }

  optionalPercent(value: unknown, name: string): number | undefined {
    const n = this.optionalNumber(value, name);
    if (n !== undefined && n > 100)
      throw profileError(this.#path, `${name} must be between 0 and 100 (got ${n})`);
    return n;
  }
}
