/**
 * Every command module registers itself on the program. Append-only list: one import
 * and one entry per module.
 */
import type { Command } from 'commander';
import * as backup from './backup.ts';
import * as check from './check.ts';
import * as diff from './diff.ts';
import * as forget from './forget.ts';
import * as init from './init.ts';
import * as key from './key.ts';
import * as ls from './ls.ts';
import * as prune from './prune.ts';
import * as repair from './repair.ts';
import * as restore from './restore.ts';
import * as snapshots from './snapshots.ts';
import * as stats from './stats.ts';

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
];
