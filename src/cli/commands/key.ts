import type { Command } from 'commander';
import { Keyring } from '../../client/local-keyring.ts';
import { table } from '../format.ts';
import { readNewPassword, readPassword } from '../password.ts';
import {
  kdfFromEnvironment,
  printJson,
  repositoryPath,
  withRepositoryOptions,
} from '../repository-options.ts';

/** withKeyring unlocks the keyring with the current password, then runs `action`. */
async function withKeyring<T>(
  options: { repo?: string; passwordFile?: string },
  action: (k: Keyring) => Promise<T>,
): Promise<T> {
  const keyring = await Keyring.open(repositoryPath(options), await readPassword(options));
  try {
    return await action(keyring);
  } finally {
    await keyring.close();
  }
}

/** The new password: CUMULUS_NEW_PASSWORD or --new-password-file, else asked twice. */
function newPassword(options: { newPasswordFile?: string }): Promise<string> {
  const fromEnv = process.env.CUMULUS_NEW_PASSWORD;
  if (fromEnv) return Promise.resolve(fromEnv);
  return readNewPassword({ passwordFile: options.newPasswordFile });
}

export function register(program: Command): void {
  const key = program.command('key').description('manage the passwords that open a repository');
  withRepositoryOptions(key.command('list').description('list the keys (one per password)'))
    .option('--json', 'print as JSON')
    .action(async (options) => {
      const keys = await withKeyring(options, (k) => k.list());
      if (options.json) printJson(keys);
      else {
        const rows = keys.map((k) => [
          `${k.current ? '*' : ' '}${k.id.slice(0, 8)}`,
          k.user,
          k.host,
          k.created,
        ]);
        process.stdout.write(`${table([' ID', 'User', 'Host', 'Created'], rows)}\n`);
      }
    });
  withRepositoryOptions(key.command('add').description('add a password (CUMULUS_NEW_PASSWORD or asked)'))
    .option('--new-password-file <file>', 'read the new password from a file')
    .action(async (options) => {
      const id = await withKeyring(options, async (k) =>
        k.add(await newPassword(options), { kdf: kdfFromEnvironment() }),
      );
      process.stdout.write(`added key ${id.slice(0, 8)}\n`);
    });
  withRepositoryOptions(key.command('remove').description('remove a password by key ID (not the one in use)'))
    .argument('<id>', 'key ID or prefix')
    .action(async (id: string, options) => {
      await withKeyring(options, (k) => k.remove(id));
      process.stdout.write(`removed key ${id}\n`);
    });
  withRepositoryOptions(key.command('passwd').description('change the password in use'))
    .option('--new-password-file <file>', 'read the new password from a file')
    .action(async (options) => {
      const id = await withKeyring(options, async (k) =>
        k.passwd(await newPassword(options), { kdf: kdfFromEnvironment() }),
      );
      process.stdout.write(`password changed (key ${id.slice(0, 8)})\n`);
    });
}
