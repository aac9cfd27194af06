/**
 * readPassword takes the repository password from CUMULUS_PASSWORD, a --password-file, or
 * a prompt on the terminal (not echoed), in that order.
 */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { CumulusError } from '../core/errors.ts';

export async function readPassword(
  options: { passwordFile?: string },
  prompt = 'Password: ',
): Promise<string> {
  if (options.passwordFile !== undefined) {
    try {
      return readFileSync(options.passwordFile, 'utf8').replace(/\r?\n$/, '');
    } catch (error) {
      throw new CumulusError('usage', `cannot read password file: ${(error as Error).message}`);
    }
  }
  const fromEnv = process.env.CUMULUS_PASSWORD;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  return promptHidden(prompt);
}

/** promptHidden asks on the terminal without echoing what is typed. */
export async function promptHidden(prompt: string): Promise<string> {
  if (!process.stdin.isTTY) {
    throw new CumulusError('usage', 'no password given', {
      hint: 'set CUMULUS_PASSWORD or pass --password-file (standard input is not a terminal)',
    });
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  const output = rl as unknown as { _writeToOutput: (s: string) => void };
  process.stderr.write(prompt);
  output._writeToOutput = () => {};
  try {
    return await new Promise<string>((resolve) => rl.question('', resolve));
  } finally {
    rl.close();
    process.stderr.write('\n');
  }
}

/** newPassword asks twice on a terminal; from the environment or a file it is taken as is. */
export async function readNewPassword(options: { passwordFile?: string }): Promise<string> {
  if (options.passwordFile !== undefined || process.env.CUMULUS_PASSWORD) return readPassword(options);
  const first = await promptHidden('New password: ');
  const second = await promptHidden('Repeat password: ');
  if (first !== second) throw new CumulusError('usage', 'the passwords do not match');
  if (first === '') throw new CumulusError('usage', 'an empty password is not allowed');
  return first;
}
