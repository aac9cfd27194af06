/**
 * `cumulus account` changes the account's secrets from this signed-in device — password,
 * authenticator app, recovery key — and manages its sessions.
 */
import type { Command } from 'commander';
import * as account from '../../api/account.ts';
import { beginTotp, changePassword, disableTotp, replaceRecoveryKey } from '../../client/account-security.ts';
import { clearDeviceState, configDir } from '../../client/device-state.ts';
import { CumulusError } from '../../core/errors.ts';
import { printable } from '../format.ts';
import { promptHidden, readPassword } from '../password.ts';
import { kdfFloor, kdfFromEnvironment, printJson } from '../repository-options.ts';
import { readAnswer, signedIn } from '../signed-in.ts';

/** readNewAccountPassword takes the new password from CUMULUS_NEW_PASSWORD, else asks twice. */
async function readNewAccountPassword(): Promise<string> {
  const fromEnv = process.env.CUMULUS_NEW_PASSWORD;
  if (fromEnv) return fromEnv;
  const first = await promptHidden('New password: ');
  if (first === '') throw new CumulusError('usage', 'an empty password is not allowed');
  if ((await promptHidden('Repeat new password: ')) !== first)
    throw new CumulusError('usage', 'the passwords do not match');
  return first;
}

function showRecoveryKey(text: string): void {
  process.stdout.write(
    `Your new recovery key:\n\n    ${text}\n\nWrite it down and keep it safe; it is shown only this once. The previous one no longer works.\n`,
  );
}

export function register(program: Command): void {
  const command = program
    .command('account')
    .description('password, authenticator app, recovery key and sessions of this account');

  command
    .command('password')
    .description(
      'change the password (current from CUMULUS_PASSWORD or asked; new from CUMULUS_NEW_PASSWORD or asked twice)',
    )
    .action(async () => {
      const { state, client } = await signedIn();
      const current = await readPassword({}, 'Current password: ');
      const next = await readNewAccountPassword();
      await changePassword(client, state, { current, next }, kdfFromEnvironment(), kdfFloor());
      process.stdout.write(
        'password changed; every device keeps working, and new devices sign in with the new password\n',
      );
    });

  command
    .command('recovery-key')
    .description('make a new recovery key (the old one stops working)')
    .action(async () => {
      const { state, client } = await signedIn();
      showRecoveryKey(
        await replaceRecoveryKey(client, state, await readPassword({}, 'Password: '), kdfFloor()),
      );
    });

  const totp = command
    .command('totp')
    .description('an authenticator app as second factor when no trusted device is at hand');
  totp
    .command('enable')
    .description('enrol an authenticator app: shows its secret, then asks for its first code')
    .action(async () => {
      const { state, client } = await signedIn();
      const { secret, uri } = await beginTotp(
        client,
        state,
        await readPassword({}, 'Password: '),
        kdfFloor(),
      );
      process.stderr.write(
        `Add this account to your authenticator app:\n  secret: ${secret}\n  or the link: ${uri}\n`,
      );
      await client.call(account.confirmTotp, { body: { code: await readAnswer('Code shown by the app: ') } });
      process.stdout.write(
        'authenticator app enabled: `cumulus login --totp` can now approve a new device\n',
      );
    });
  totp
    .command('disable')
    .description('stop accepting authenticator codes')
    .action(async () => {
      const { state, client } = await signedIn();
      await disableTotp(client, state, await readPassword({}, 'Password: '), kdfFloor());
      process.stdout.write('authenticator app disabled\n');
    });

  command
    .command('sessions')
    .description('list the devices signed in to this account')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const { client } = await signedIn();
      const { sessions } = await client.call(account.listSessions, {});
      if (options.json) return printJson({ sessions });
      for (const s of sessions) {
        process.stdout.write(
          `${s.id}  "${printable(s.deviceName)}"${s.current ? ' (this device)' : ''}  from ${printable(s.ip)}  since ${s.createdAt}  last used ${s.lastUsedAt ?? '-'}\n`,
        );
      }
    });

  command
    .command('revoke <session>')
    .description('sign one session out (an ID from `cumulus account sessions`)')
    .action(async (sessionId: string) => {
      const { client } = await signedIn();
      await client.call(account.revokeSession, { params: { sessionId } });
      process.stdout.write(`session ${sessionId} signed out\n`);
    });

  command
    .command('signout-all')
    .description('sign out every other device (this one too with --include-this-device)')
    .option('--include-this-device', 'sign this device out as well')
    .action(async (options: { includeThisDevice?: boolean }) => {
      const { client } = await signedIn();
      const includeCurrent = options.includeThisDevice ?? false;
      const { revoked } = await client.call(account.signOutAll, { body: { includeCurrent } });
      if (includeCurrent) await clearDeviceState(configDir());
      process.stdout.write(
        `signed out ${revoked} session(s)${includeCurrent ? ', this device included' : ''}\n`,
      );
    });
}
