/** askYesNo asks a yes/no question on the terminal; without a terminal the answer is no. */
import { createInterface } from 'node:readline/promises';

export async function askYesNo(
  question: string,
  input = process.stdin,
  output = process.stderr,
): Promise<boolean> {
  if (!input.isTTY) return false;
  const rl = createInterface({ input, output });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}
