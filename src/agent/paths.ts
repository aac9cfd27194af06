/**
 * AgentPaths are where the agent keeps its files: `CUMULUS_CONFIG_DIR` when set (so
 * several devices can share one machine in tests and demos), else the XDG config folder
 * (`$XDG_CONFIG_HOME/cumulus`, `~/.config/cumulus`), or `~/Library/Application Support/Cumulus`
 * on macOS.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface AgentPaths {
  configDir: string;
  settings: string;
  backupSwitch: string;
  state: string;
  lock: string;
  log: string;
  /** Where `cumulus backup` leaves a "back up now" request for the running agent. */
  backupRequest: string;
  home: string;
}

export function agentPaths(env: NodeJS.ProcessEnv = process.env, platform = process.platform): AgentPaths {
  const home = env.HOME || homedir();
  const configDir =
    env.CUMULUS_CONFIG_DIR ||
    (platform === 'darwin'
      ? join(home, 'Library', 'Application Support', 'Cumulus')
      : join(env.XDG_CONFIG_HOME || join(home, '.config'), 'cumulus'));
  return {
    configDir,
    settings: join(configDir, 'settings.json'),
    backupSwitch: join(configDir, 'backup-switch.json'),
    state: join(configDir, 'state.json'),
    lock: join(configDir, 'agent.lock'),
    log: join(configDir, 'agent.log'),
    backupRequest: join(configDir, 'backup-now.json'),
    home,
  };
}
