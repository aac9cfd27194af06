/**
 * Helpers for the commands that act as this signed-in device: its state and a client
 * holding its token, answers typed at the terminal (or one line of standard input when it
 * is not a terminal), and sizes typed in decimal units as plans are sold (parseSize).
 */
import { createInterface } from 'node:readline';
import { AccountClient } from '../client/account-client.ts';
import { configDir, type DeviceState, requireDeviceState } from '../client/device-state.ts';
import { CumulusError } from '../core/errors.ts';

export interface SignedInDevice {
  state: DeviceState;
  client: AccountClient;
}

/** signedIn loads this device's state (CUMULUS_CONFIG_DIR) and a client acting as it. */
export async function signedIn(): Promise<SignedInDevice> {
  const state = await requireDeviceState(configDir());
  return { state, client: new AccountClient({ serverUrl: state.serverUrl, token: state.token }) };
}

let stdinLines: AsyncIterator<string> | undefined;

/**
 * readAnswer asks a question on the terminal, or reads the next line of standard input
 * when it is not a terminal (scripts and tests pipe the answer in).
 */
export async function readAnswer(question: string): Promise<string> {
  if (!process.stdin.isTTY) {
    process.stderr.write(question);
    stdinLines ??= createInterface({ input: process.stdin, terminal: false })[Symbol.asyncIterator]();
    const line = await stdinLines.next();
    process.stderr.write('\n');
    if (line.done)
      throw new CumulusError('usage', 'standard input ended before the answer', {
        hint: 'pipe the answer in, one line',
      });
    return line.value.trim();
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  try {
    return (await new Promise<string>((resolve) => rl.question(question, resolve))).trim();
  } finally {
    rl.close();
  }
}

/** parseSize reads a size like 500MB, 5GB, 2TB or a plain number of bytes (decimal units). */
export function parseSize(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB)?$/i.exec(text.trim());
  if (!match)
    throw new CumulusError('usage', `"${text}" is not a size`, { hint: 'write it like 500MB, 5GB or 2TB' });
  const power = ['B', 'KB', 'MB', 'GB', 'TB'].indexOf((match[2] ?? 'B').toUpperCase());
  return Math.round(Number(match[1]) * 1000 ** power);
}
