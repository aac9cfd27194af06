/**
 * AgentPaths are where the agent keeps its files, in the platform's usual places: what the
 * owner sets (settings, the backup switch; beside the sign-in state) in the config folder
 * — `$XDG_CONFIG_HOME/cumulus` or `~/.config/cumulus` on Linux — and what the agent keeps
 * for itself (its state and journal, lock, log, requests) in `$XDG_STATE_HOME/cumulus` or
 * `~/.local/state/cumulus`. On macOS both are `~/Library/Application Support/Cumulus`.
 * `CUMULUS_CONFIG_DIR`, when set, holds all of it, so several devices can share one
 * machine in tests and demos.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { configDir as deviceConfigDir } from '../client/device-state.ts';

export interface AgentPaths {
  configDir: string;
  /** The agent's own files: state, lock, log, requests. */
  stateDir: string;
  settings: string;
  backupSwitch: string;
  state: string;
  lock: string;
  log: string;
  /** Where `cumulus backup` leaves a "back up now" request for the running agent. */
  backupRequest: string;
  /** The doctor's last upload measurement, reused while the server would refuse another. */
  uploadMeasurement: string;
  home: string;
}

export function agentPaths(env: NodeJS.ProcessEnv = process.env, platform = process.platform): AgentPaths {
  const home = env.HOME || homedir();
  const configDir = deviceConfigDir(env, platform);
  const stateDir =
    env.CUMULUS_CONFIG_DIR || platform === 'darwin'
      ? configDir
      : join(env.XDG_STATE_HOME || join(home, '.local', 'state'), 'cumulus');
  return {
    configDir,
    stateDir,
    settings: join(configDir, 'settings.json'),
    backupSwitch: join(configDir, 'backup-switch.json'),
    state: join(stateDir, 'state.json'),
    lock: join(stateDir, 'agent.lock'),
    log: join(stateDir, 'agent.log'),
    backupRequest: join(stateDir, 'backup-now.json'),
    uploadMeasurement: join(stateDir, 'upload-measurement.json'),
    home,
  };
}
