/**
 * The `cumulus` program. Each command module registers itself (commands/index.ts); this
 * file only builds the program and turns errors into one clear line and an exit code.
 */
import { Command, CommanderError } from 'commander';
import { agentVersion } from '../agent/version.ts';
import { isCumulusError } from '../core/errors.ts';
import { commandModules } from './commands/index.ts';
import { EXIT, exitCodeFor } from './exit-codes.ts';
import { printable } from './format.ts';

/**
 * buildProgram builds the program for one command line: with only the module of the
 * command it names, or with every module for the help, the version or a name it does not know.
 */
export async function buildProgram(argv: string[]): Promise<Command> {
  const program = new Command('cumulus')
    .description('Cumulus: end-to-end encrypted, deduplicated backups to a folder or a Cumulus server')
    .version(agentVersion)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  const named = Object.hasOwn(commandModules, argv[2] ?? '') ? commandModules[argv[2]!] : undefined;
  const loaders = named ? [named] : [...new Set(Object.values(commandModules))];
  const modules = new Set(await Promise.all(loaders.map((load) => load())));
  for (const module of modules) module.register(program);
  return program;
}

/** run executes one command line and returns the exit code; no error escapes as a stack trace. */
export async function run(argv: string[]): Promise<number> {
  try {
    await (await buildProgram(argv)).parseAsync(argv);
    return process.exitCode === undefined ? EXIT.ok : Number(process.exitCode);
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (isCumulusError(error)) {
      // A message may come from the server: printed escaped, it cannot drive the terminal.
      process.stderr.write(`cumulus: ${printable(error.message)}\n`);
      if (error.hint) process.stderr.write(`hint: ${printable(error.hint)}\n`);
      return exitCodeFor(error.code);
    }
    process.stderr.write(
      `cumulus: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    return EXIT.error;
  }
}
