/**
 * Every command module registers itself on the program. Append-only list: one import
 * and one entry per module.
 */
import type { Command } from 'commander';

export type Register = (program: Command) => void;

export const commandModules: Register[] = [];
