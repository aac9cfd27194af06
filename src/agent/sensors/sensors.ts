/**
 * Sensors is the port the scheduler and the doctor read the machine through: one reading
 * of power, network and session at a time. Implementations: SystemSensors (the real
 * machine) and SimulatedSensors (a profile file, for tests and demos).
 *
 * Unknown is a value, not an error: a sensor that cannot tell says 'unknown' (or leaves an
 * optional field out) and the conditions decide what that counts as.
 */
export type NetworkType = 'wifi' | 'ethernet' | 'cellular' | 'none' | 'unknown';

export interface SensorReading {
  power: {
    /** On mains power (true also for a machine without a battery). */
    ac: boolean;
    hasBattery: boolean;
    batteryPercent?: number;
  };
  network: {
    online: boolean;
    type: NetworkType;
    /** The link is metered (a mobile hotspot, a capped plan); 'unknown' when no tool can tell. */
    metered: boolean | 'unknown';
    wifiSignalPercent?: number;
    interface?: string;
  };
  session: {
    /** A graphical session exists; without one, nobody can be interrupted and the locked/idle condition holds. */
    graphical: boolean;
    locked?: boolean;
    idleSeconds?: number;
  };
  /** Where the reading came from: 'system' or the simulated profile's path. */
  source: string;
  measuredAt: number;
}

export interface Sensors {
  read(): Promise<SensorReading>;
}
