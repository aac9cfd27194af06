/**
 * KdfMemory remembers, per server and account, the strongest password cost (scrypt N) this
 * device has signed in with, in `kdf-seen.json` beside the device state (it outlives a
 * logout). A server that later asks for less is refused: lowering the cost would only
 * make the server's own guessing at the password cheaper.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

type Seen = Record<string, number>;

export class KdfMemory {
  readonly #path: string;

  constructor(dir: string) {
    this.#path = join(dir, 'kdf-seen.json');
  }

  static #key(serverUrl: string, email: string): string {
    return `${new URL(serverUrl).origin} ${email.trim().toLowerCase()}`;
  }

  async #read(): Promise<Seen> {
    try {
      return JSON.parse(await readFile(this.#path, 'utf8')) as Seen;
    } catch {
      return {};
    }
  }

  /** strongest returns the highest N seen for this account, or 0. */
  async strongest(serverUrl: string, email: string): Promise<number> {
    return (await this.#read())[KdfMemory.#key(serverUrl, email)] ?? 0;
  }

  async remember(serverUrl: string, email: string, N: number): Promise<void> {
    const seen = await this.#read();
    const key = KdfMemory.#key(serverUrl, email);
    if ((seen[key] ?? 0) >= N) return;
    seen[key] = N;
    const dir = join(this.#path, '..');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFile(`${this.#path}.tmp`, `${JSON.stringify(seen, null, 2)}\n`, { mode: 0o600 });
    await rename(`${this.#path}.tmp`, this.#path);
  }
}
