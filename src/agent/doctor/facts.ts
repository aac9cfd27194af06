/**
 * DoctorFacts measures each thing once per doctor run, on demand, so several checks can
 * share the sensor reading, the settings, the server's answers and the dry scan.
 * A failed measurement is kept as `{ error }` for the check to report. Every server
 * answer waits on `connection`: online by the sensors, signed in, and the server
 * answering a ping; when one of those is missing the answer fails with a BlockedError
 * naming the check that owns the fault, and nothing waits on a server it cannot reach.
 */
import type { DeviceIdentity, Prediction, Release, ServiceStatus, SessionCheck, Usage } from '../ports.ts';
import type { SensorReading } from '../sensors/sensors.ts';
import type { SettingsInspection } from '../settings.ts';
import type { AgentState } from '../state.ts';
import { BlockedError, blockerOf } from './blocked.ts';
import type { DoctorDeps } from './types.ts';

export type Measured<T> = T | { error: Error };

export function failed<T>(value: Measured<T>): value is { error: Error } {
  return typeof value === 'object' && value !== null && 'error' in value && value.error instanceof Error;
}

function once<T>(measure: () => Promise<T>): () => Promise<Measured<T>> {
  let result: Promise<Measured<T>> | undefined;
  return () => {
    result ??= measure().catch((error: unknown) => ({
      error: error instanceof Error ? error : new Error(String(error)),
    }));
    return result;
  };
}

/** Connection is the way to the server: its address and its round trip, in ms. */
export interface Connection {
  serverUrl: string;
  latencyMs: number;
}

export class DoctorFacts {
  readonly deps: DoctorDeps;
  readonly reading: () => Promise<Measured<SensorReading>>;
  readonly settings: () => Promise<Measured<SettingsInspection>>;
  readonly identity: () => Promise<Measured<DeviceIdentity | null>>;
  readonly connection: () => Promise<Measured<Connection>>;
  readonly session: () => Promise<Measured<SessionCheck>>;
  readonly usage: () => Promise<Measured<Usage>>;
  readonly status: () => Promise<Measured<ServiceStatus>>;
  readonly release: () => Promise<Measured<Release>>;
  readonly prediction: () => Promise<Measured<Prediction>>;
  readonly state: () => Promise<Measured<AgentState>>;

  constructor(deps: DoctorDeps) {
    this.deps = deps;
    this.reading = once(() => deps.sensors.read());
    this.settings = once(() => deps.settings.inspect());
    this.identity = once(() => deps.deviceState.read());
    this.connection = once(() => this.#connect());
    const overConnection = <T>(ask: () => Promise<T>) =>
      once(async () => {
        const connection = await this.connection();
        if (failed(connection)) throw connection.error;
        return ask();
      });
    this.session = overConnection(() => deps.server.session());
    this.usage = overConnection(() => deps.server.usage());
    this.status = overConnection(() => deps.server.status());
    this.release = overConnection(() => deps.server.latestRelease());
    this.state = once(() => deps.state.read(deps.clock.now()));
    this.prediction = overConnection(async () => {
      const settings = await this.settings();
      return deps.runner.predict(failed(settings) ? [] : settings.settings.sources);
    });
  }

  async #connect(): Promise<Connection> {
    const reading = await this.reading();
    if (!failed(reading) && !reading.network.online)
      throw new BlockedError('network', 'this device is not connected to any network');
    const identity = await this.identity();
    if (failed(identity))
      throw new BlockedError('sign-in', `cannot read the sign-in state: ${identity.error.message}`);
    if (identity === null) throw new BlockedError('sign-in', 'this device is not signed in');
    try {
      return { serverUrl: identity.serverUrl, latencyMs: await this.deps.server.ping() };
    } catch (error) {
      const cause = error instanceof Error ? error : new Error(String(error));
      const owner = blockerOf(cause);
      if (owner !== undefined && owner !== 'network') throw cause;
      throw new BlockedError('network', `server ${identity.serverUrl} does not answer: ${cause.message}`);
    }
  }
}
