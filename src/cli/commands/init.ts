import type { Command } from 'commander';
import { initRepository } from '../../client/local-keyring.ts';
import type { ChunkerParams } from '../../core/chunker.ts';
import { CumulusError } from '../../core/errors.ts';
import { readNewPassword } from '../password.ts';
import {
  kdfFromEnvironment,
  printJson,
  repositoryPath,
  withRepositoryOptions,
} from '../repository-options.ts';

/** chunkerFromEnvironment reads CUMULUS_CHUNKER=min,avg,max (bytes), used to compare chunk sizes by measurement. */
function chunkerFromEnvironment(): ChunkerParams | undefined {
  const value = process.env.CUMULUS_CHUNKER;
  if (value === undefined || value === '') return undefined;
  const [min, avg, max] = value.split(',').map(Number);
  if (![min, avg, max].every(Number.isInteger))
    throw new CumulusError('usage', 'CUMULUS_CHUNKER must be min,avg,max in bytes');
  return { min, avg, max };
}

export function register(program: Command): void {
  withRepositoryOptions(program.command('init').description('create a new encrypted repository in a folder'))
    .option('--json', 'print the result as JSON')
    .action(async (options) => {
      const path = repositoryPath(options);
      const vault = await initRepository(path, await readNewPassword(options), {
        kdf: kdfFromEnvironment(),
        chunker: chunkerFromEnvironment(),
      });
      await vault.repo.close();
      if (options.json) printJson({ repository: path, id: vault.config.id });
      else {
        process.stdout.write(`created repository ${vault.config.id.slice(0, 8)} at ${path}\n`);
        process.stdout.write('keep the password safe: without it the data cannot be recovered\n');
      }
    });
}
