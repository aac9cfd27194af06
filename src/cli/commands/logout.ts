/** `cumulus logout` signs this device out: the server revokes its token and the local state (token, account key) is erased. */
import type { Command } from 'commander';
import * as auth from '../../api/auth.ts';
import { clearDeviceState, configDir } from '../../client/device-state.ts';
import { isCumulusError } from '../../core/errors.ts';
import { signedIn } from '../signed-in.ts';

export function register(program: Command): void {
  program
    .command('logout')
    .description('sign this device out and erase its token and account key')
    .action(async () => {
      const { state, client } = await signedIn();
      try {
        await client.call(auth.logout, {});
      } catch (error) {
        // Already revoked elsewhere: signing out is done. Unreachable: erase anyway, and say what stays open.
        if (!isCumulusError(error, 'unauthorized')) {
          process.stderr.write(
            `warning: could not tell the server (${(error as Error).message}); the session stays valid until revoked ` +
              'from another device (`cumulus account sessions`)\n',
          );
        }
      }
      await clearDeviceState(configDir());
      process.stdout.write(
        `signed out ${state.email} on ${state.serverUrl}; this device's key and token are erased\n`,
      );
    });
}
