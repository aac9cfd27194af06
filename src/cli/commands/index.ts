/**
 * Every command module registers itself on the program. Append-only list: one import
 * and one entry per module.
 */
import type { Command } from 'commander';
import * as accountCommand from './account.ts';
import * as agentCommand from './agent.ts';
import * as approve from './approve.ts';
import * as backup from './backup.ts';
import * as check from './check.ts';
import * as devices from './devices.ts';
import * as diff from './diff.ts';
import * as disable from './disable.ts';
import * as doctor from './doctor.ts';
import * as enable from './enable.ts';
import * as forget from './forget.ts';
import * as init from './init.ts';
import * as key from './key.ts';
import * as login from './login.ts';
import * as logout from './logout.ts';
import * as ls from './ls.ts';
import * as plan from './plan.ts';
import * as prune from './prune.ts';
import * as repair from './repair.ts';
import * as restore from './restore.ts';
import * as serverCommand from './server.ts';
import * as settings from './settings.ts';
import * as snapshots from './snapshots.ts';
import * as sources from './sources.ts';
import * as stats from './stats.ts';
import * as status from './status.ts';
import * as storage from './storage.ts';
import * as update from './update.ts';

export type Register = (program: Command) => void;

export const commandModules: Register[] = [
  init.register,
  backup.register,
  snapshots.register,
  ls.register,
  diff.register,
  restore.register,
  check.register,
  forget.register,
  prune.register,
  stats.register,
  key.register,
  repair.register,
  enable.register,
  disable.register,
  sources.register,
  status.register,
  settings.register,
  agentCommand.register,
  doctor.register,
  update.register,
  serverCommand.register,
  login.register,
  logout.register,
  approve.register,
  plan.register,
  accountCommand.register,
  devices.register,
  storage.register,
];
