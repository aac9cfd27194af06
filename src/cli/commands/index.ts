/**
 * Every command module registers itself on the program. A module is imported only when
 * its command runs (or for the full help): importing all of them — the server, the
 * engine, the HTTP schemas — was most of a quick command's time. One entry per top-level
 * command; a module that registers two commands is named under both.
 */
import type { Command } from 'commander';

export type Register = (program: Command) => void;

export type CommandModule = () => Promise<{ register: Register }>;

export const commandModules: Record<string, CommandModule> = {
  init: () => import('./init.ts'),
  backup: () => import('./backup.ts'),
  snapshots: () => import('./snapshots.ts'),
  ls: () => import('./ls.ts'),
  diff: () => import('./diff.ts'),
  restore: () => import('./restore.ts'),
  check: () => import('./check.ts'),
  forget: () => import('./forget.ts'),
  prune: () => import('./prune.ts'),
  stats: () => import('./stats.ts'),
  key: () => import('./key.ts'),
  repair: () => import('./repair.ts'),
  enable: () => import('./enable.ts'),
  disable: () => import('./disable.ts'),
  sources: () => import('./sources.ts'),
  status: () => import('./status.ts'),
  settings: () => import('./settings.ts'),
  agent: () => import('./agent.ts'),
  doctor: () => import('./doctor.ts'),
  update: () => import('./update.ts'),
  server: () => import('./server.ts'),
  start: () => import('./server.ts'),
  login: () => import('./login.ts'),
  logout: () => import('./logout.ts'),
  approve: () => import('./approve.ts'),
  plan: () => import('./plan.ts'),
  account: () => import('./account.ts'),
  devices: () => import('./devices.ts'),
  notifications: () => import('./notifications.ts'),
  storage: () => import('./storage.ts'),
  retention: () => import('./retention.ts'),
};
