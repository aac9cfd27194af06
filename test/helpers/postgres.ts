/**
 * A throwaway PostgreSQL cluster for tests: `initdb` in a temp folder, `postgres`
 * listening only on a unix socket in that folder (no port to collide on), one database per
 * caller, stopped and deleted after. Debian's `postgresql` package provides the binaries;
 * without them `findPostgres` returns undefined and the PostgreSQL half of a suite skips.
 * initdb refuses to run as root, so as root the cluster runs as the `postgres` user (or
 * `nobody`) through setpriv.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export const NO_POSTGRES =
  'PostgreSQL is not installed (apt-get install postgresql): the PostgreSQL half skips';

/** findPostgres returns the folder of initdb and postgres, or undefined when PostgreSQL is not installed. */
export function findPostgres(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = execFileSync('ls', [root], { encoding: 'utf8' })
      .split('\n')
      .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions.length > 0) return join(root, versions[0], 'bin');
  }
  try {
    return execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** runAs is the user the cluster runs as: the current one, or a system user when we are root. */
function runAs(): { prefix: string[]; uid: number; gid: number } | undefined {
  if (userInfo().uid !== 0) return undefined;
  for (const name of ['postgres', 'nobody']) {
    try {
      const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }));
      const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }));
      return { prefix: ['setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--'], uid, gid };
    } catch {}
  }
  throw new Error('running as root, and neither a postgres nor a nobody user exists to run PostgreSQL as');
}

export interface TestPostgres {
  /** database creates an empty database and returns its connection URL. */
  database(): Promise<string>;
  stop(): Promise<void>;
}

/** startPostgres starts a fresh cluster (a few seconds); call stop() when done. */
export async function startPostgres(): Promise<TestPostgres> {
  const bin = findPostgres();
  if (bin === undefined) throw new Error(NO_POSTGRES);
  const user = runAs();
  const dir = await mkdtemp(join(tmpdir(), 'cumulus-pg-'));
  const data = join(dir, 'data');
  if (user !== undefined) {
    await chown(dir, user.uid, user.gid);
    await chmod(dir, 0o755);
  }
  const command = (program: string, args: string[]) =>
    user === undefined ? [join(bin, program), ...args] : [...user.prefix, join(bin, program), ...args];
  const [initdb, ...initArgs] = command('initdb', [
    '--no-sync',
    '--auth=trust',
    '--username=cumulus',
    '--encoding=UTF8',
    '--locale=C',
    '-D',
    data,
  ]);
  execFileSync(initdb, initArgs, { stdio: ['ignore', 'ignore', 'pipe'] });
  const [postgres, ...args] = command('postgres', [
    '-D',
    data,
    '-k',
    dir,
    '-c',
    'listen_addresses=',
    '-c',
    'fsync=off',
    '-c',
    'synchronous_commit=off',
    '-c',
    'full_page_writes=off',
    '-c',
    'max_connections=200',
  ]);
  const server: ChildProcess = spawn(postgres, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  server.stderr?.on('data', (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
  const admin = { host: dir, user: 'cumulus', database: 'postgres' };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (server.exitCode !== null) throw new Error(`postgres exited: ${log}`);
    if ((await readdir(dir)).some((name) => name.startsWith('.s.PGSQL.'))) {
      const client = new pg.Client(admin);
      try {
        await client.connect();
        await client.end();
        break;
      } catch {
        await client.end().catch(() => {});
      }
    }
    if (Date.now() > deadline) {
      server.kill('SIGKILL');
      throw new Error(`postgres did not start within a minute: ${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    async database() {
      const name = `test_${randomBytes(6).toString('hex')}`;
      const client = new pg.Client(admin);
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
      return `postgres://cumulus@localhost/${name}?host=${encodeURIComponent(dir)}`;
    },
    async stop() {
      if (server.exitCode === null) {
        server.kill('SIGINT');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
