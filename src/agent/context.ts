/**
 * AgentContext wires the agent's ports to this machine: the one place the integration
 * swaps an adapter for the real server client or backup engine. Tests build their own
 * context from fakes.
 */

import { engineRunner } from './adapters/backup-runner.ts';
import { deviceStateIn } from './adapters/device-state.ts';
import { accountServer } from './adapters/server.ts';
import { BackupSwitch } from './backup-switch.ts';
import { systemClock } from './clock.ts';
import { type AgentPaths, agentPaths } from './paths.ts';
import type { AgentServer, BackupRunner, Clock, DeviceStatePort } from './ports.ts';
import { selectSensors } from './sensors/select.ts';
import type { Sensors } from './sensors/sensors.ts';
import { SettingsStore } from './settings.ts';
import { StateStore } from './state.ts';
import { agentVersion } from './version.ts';

export interface AgentContext {
  paths: AgentPaths;
  clock: Clock;
  sensors: Sensors;
  settings: SettingsStore;
  backupSwitch: BackupSwitch;
  state: StateStore;
  server: AgentServer;
  runner: BackupRunner;
  deviceState: DeviceStatePort;
  version: string;
  env: NodeJS.ProcessEnv;
}

/** localContext builds the stores for a config folder around the given ports. */
export function localContext(
  ports: Pick<AgentContext, 'clock' | 'sensors' | 'server' | 'runner' | 'deviceState'>,
  env: NodeJS.ProcessEnv = process.env,
  version = agentVersion,
): AgentContext {
  const paths = agentPaths(env);
  return {
    ...ports,
    paths,
    settings: new SettingsStore(paths.settings),
    backupSwitch: new BackupSwitch(paths.backupSwitch),
    state: new StateStore(paths.state),
    version,
    env,
  };
}

/** machineContext is the context of `cumulus` on this machine. */
export function machineContext(env: NodeJS.ProcessEnv = process.env): AgentContext {
  const { configDir } = agentPaths(env);
  return localContext(
    {
      clock: systemClock,
      sensors: selectSensors(systemClock, env),
      server: accountServer(configDir, agentVersion),
      runner: engineRunner(configDir, agentVersion),
      deviceState: deviceStateIn(configDir),
    },
    env,
  );
}
