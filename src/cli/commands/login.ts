/**
 * `cumulus login URL` signs this device in to a Cumulus server. A new device needs a
 * second factor: the code shown on a trusted device (`cumulus approve`), else an
 * authenticator code, else the recovery key. The first device of an account creates the
 * account key and shows the recovery key, once.
 */
import { hostname } from 'node:os';
import type { Command } from 'commander';
import type { ApprovalMethod, SecondFactor } from '../../api/auth.ts';
import { CLIENT_VERSION } from '../../client/account-client.ts';
import { configDir, loadDeviceState, saveDeviceState } from '../../client/device-state.ts';
import { KdfMemory } from '../../client/kdf-memory.ts';
import { plainHttpWarning } from '../../client/server-url.ts';
import { acceptInvite, type PendingSignIn, type SignInResult, signIn } from '../../client/sign-in.ts';
import { CumulusError, isCumulusError } from '../../core/errors.ts';
import { readNewPassword, readPassword } from '../password.ts';
import { kdfFloor, kdfFromEnvironment, printJson } from '../repository-options.ts';
import { readAnswer } from '../signed-in.ts';

interface LoginOptions {
  email: string;
  invite?: string;
  deviceName?: string;
  totp?: boolean;
  recoveryKey?: boolean;
  json?: boolean;
}

/** chooseMethod picks the second factor: the one asked for, else a trusted device's code, else TOTP, else the recovery key. */
function chooseMethod(options: LoginOptions, offered: ApprovalMethod[]): ApprovalMethod {
  const wanted: ApprovalMethod | undefined = options.totp
    ? 'totp'
    : options.recoveryKey
      ? 'recovery'
      : undefined;
  if (wanted && !offered.includes(wanted)) {
    throw new CumulusError(
      'usage',
      `this account cannot sign in with ${wanted === 'totp' ? 'an authenticator app' : 'a recovery key'}`,
      {
        hint: `it offers: ${offered.join(', ')}`,
      },
    );
  }
  const method = wanted ?? (['code', 'totp', 'recovery'] as const).find((m) => offered.includes(m));
  if (!method)
    throw new CumulusError('forbidden', 'this account offers no way to approve a new device', {
      hint: "ask the server's admin",
    });
  return method;
}

async function askFactor(method: ApprovalMethod, pending: PendingSignIn): Promise<SecondFactor> {
  switch (method) {
    case 'code':
      process.stderr.write(
        `A verification code was sent to your trusted devices (valid until ${pending.expiresAt}).\n` +
          'On one of them run `cumulus approve` (or open the console) and type the code here.\n',
      );
      return { method, code: await readAnswer('Verification code: ') };
    case 'totp':
      return { method, code: await readAnswer('Code from your authenticator app: ') };
    case 'recovery':
      process.stderr.write('No trusted device can approve this sign-in: use the recovery key you saved.\n');
      return { method, recoveryKey: await readAnswer('Recovery key: ') };
  }
}

/** approve asks for the second factor until it passes; on a terminal a mistyped code may be typed again. */
async function approve(options: LoginOptions, pending: PendingSignIn): Promise<SignInResult> {
  const method = chooseMethod(options, pending.methods);
  for (;;) {
    try {
      return await pending.complete(await askFactor(method, pending));
    } catch (error) {
      const left = isCumulusError(error, 'unauthorized') ? error.details?.attemptsLeft : undefined;
      if (!process.stdin.isTTY || typeof left !== 'number' || left <= 0) throw error;
      process.stderr.write(`${(error as Error).message}; ${left} attempt(s) left\n`);
    }
  }
}

export function register(program: Command): void {
  program
    .command('login <url>')
    .description('sign this device in to a Cumulus server (password from CUMULUS_PASSWORD or asked)')
    .requiredOption('--email <email>', 'account email')
    .option('--device-name <name>', 'name of this device in the account (default: the host name)')
    .option(
      '--invite <token>',
      "create the account from the admin's one-time invite first, with a new password you choose (asked twice)",
    )
    .option('--totp', 'approve with a code from your authenticator app instead of a trusted device')
    .option('--recovery-key', 'approve with your recovery key (when no trusted device is at hand)')
    .option('--json', 'print the result as JSON')
    .action(async (url: string, options: LoginOptions) => {
      const existing = await loadDeviceState(configDir());
      if (existing) {
        throw new CumulusError(
          'conflict',
          `this device is signed in already, as ${existing.email} on ${existing.serverUrl}`,
          {
            hint: 'run `cumulus logout` first to sign in to another account',
          },
        );
      }
      const insecure = plainHttpWarning(url);
      if (insecure) process.stderr.write(`${insecure}\n`);
      const password = options.invite ? await readNewPassword({}) : await readPassword({});
      if (options.invite) {
        await acceptInvite({
          serverUrl: url,
          inviteToken: options.invite,
          email: options.email,
          password,
          kdfCost: kdfFromEnvironment(),
        });
      }
      const memory = new KdfMemory(configDir());
      // The floor, or the strongest cost this device signed in with before: a server asking less is refused.
      const floor = kdfFloor();
      const started = await signIn({
        serverUrl: url,
        email: options.email,
        kdfFloorN: Math.max(floor, await memory.strongest(url, options.email)),
        password,
        device: {
          name: options.deviceName ?? hostname(),
          platform: `${process.platform}-${process.arch}`,
          agentVersion: CLIENT_VERSION,
        },
      });
      const result = 'state' in started ? started : await approve(options, started);
      await saveDeviceState(result.state, configDir());
      await memory.remember(url, options.email, result.kdfN);
      const { state } = result;
      if (options.json) {
        printJson({
          serverUrl: state.serverUrl,
          email: state.email,
          accountId: state.accountId,
          deviceId: state.deviceId,
          recoveryKey: result.recoveryKey,
        });
        return;
      }
      process.stdout.write(
        `signed in as ${state.email} on ${state.serverUrl}; this device is "${state.deviceName}"\n`,
      );
      if (result.recoveryKey) {
        process.stdout.write(
          `\nThis is the account's first device: it created the account key. Your recovery key is:\n\n    ${result.recoveryKey}\n\n` +
            'Write it down and keep it somewhere safe. It is shown only this once. With your password it signs in a\n' +
            'new device when no trusted device is at hand; without the password and this key, the backups cannot be opened.\n',
        );
      }
    });
}
