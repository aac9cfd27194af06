/**
 * DoctorFacts measures each thing once per doctor run, on demand, so several checks can
 * share the sensor reading, the settings, the server's answers and the dry scan.
 * A failed measurement is kept as `{ error }` for the check to report.
 */
import type { DeviceIdentity, Prediction, Release, ServiceStatus, SessionCheck, Usage } from '../ports.ts';
import type { SensorReading } from '../sensors/sensors.ts';
import type { SettingsInspection } from '../settings.ts';
import type { AgentState } from '../state.ts';
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

export class DoctorFacts {
  readonly deps: DoctorDeps;
  readonly reading: () => Promise<Measured<SensorReading>>;
  readonly settings: () => Promise<Measured<SettingsInspection>>;
  readonly identity: () => Promise<Measured<DeviceIdentity | null>>;
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
    this.session = once(() => deps.server.session());
    this.usage = once(() => deps.server.usage());
    this.status = once(() => deps.server.status());
    this.release = once(() => deps.server.latestRelease());
    this.state = once(() => deps.state.read(deps.clock.now()));
    this.prediction = once(async () => {
      const settings = await this.settings();
      return deps.runner.predict(failed(settings) ? [] : settings.settings.sources);
    });
  }
}
