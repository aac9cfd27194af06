/** selectSensors picks the simulated profile when `CUMULUS_SENSORS` names one, else the real machine. */
import type { Clock } from '../ports.ts';
import type { Sensors } from './sensors.ts';
import { SimulatedSensors } from './simulated.ts';
import { SystemSensors } from './system.ts';

export function selectSensors(clock: Clock, env: NodeJS.ProcessEnv = process.env): Sensors {
  return env.CUMULUS_SENSORS
    ? new SimulatedSensors(env.CUMULUS_SENSORS, clock)
    : new SystemSensors(clock, env);
}
