/**
 * The server never sees a file's name or path. A device backs up, through the real CLI
 * and a real server process, a tree whose every name is a unique canary — with a source
 * folder that is gone, a FIFO and a socket the archiver cannot read (tests run as root, so
 * a mode cannot make a file unreadable) — and then fails a backup whose every source is
 * gone. Afterwards no canary is found anywhere in the server's data folder (the SQLite
 * file, its WAL, the account's packs and index) nor in its log at the debug level.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCumulus, type ServerProcess, startServerProcess } from '../helpers/cli.ts';

/** filesUnder lists every file below a folder. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((name) => join(dir, name))
    .filter((path) => statSync(path).isFile());
}

describe('zero knowledge: no file name or path reaches the server', () => {
  let dir: string;
  let home: string;
  let data: string;
  let env: Record<string, string>;
  let server: ServerProcess | undefined;
  let socket: Server | undefined;
  const canary = (what: string) => `Canary${what}${randomBytes(6).toString('hex')}`;
  const names = {
    source: canary('Source'),
    missing: canary('MissingSource'),
    folder: canary('Folder'),
    file: canary('File'),
    fifo: canary('Fifo'),
    socket: canary('Socket'),
    moved: canary('Moved'),
  };
  const cumulus = (args: string[]) => runCumulus(args, env);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cumulus-canary-'));
    home = join(dir, 'home');
    data = join(dir, 'data');
    env = { HOME: home, CUMULUS_CONFIG_DIR: join(dir, 'config'), CUMULUS_REPOSITORY: '' };
    const source = join(home, names.source);
    await mkdir(join(source, names.folder), { recursive: true });
    await writeFile(join(source, names.folder, `${names.file}.txt`), `${names.file}\n`.repeat(100));
    await mkdir(join(home, names.missing));
    const fifo = spawnSync('mkfifo', [join(source, names.fifo)]);
    assert.equal(fifo.status, 0, 'mkfifo makes a file no backup can read');
    socket = createServer();
    await new Promise<void>((resolve) => socket!.listen(join(source, names.socket), resolve));
    server = await startServerProcess(data, 'owner@example.com', env, 'debug');
    const login = await cumulus([
      'login',
      server.url,
      '--email',
      'owner@example.com',
      '--device-name',
      'laptop',
    ]);
    assert.equal(login.code, 0, login.stderr);
    for (const path of [source, join(home, names.missing)]) {
      const added = await cumulus(['sources', 'add', path]);
      assert.equal(added.code, 0, added.stderr);
    }
    await rm(join(home, names.missing), { recursive: true });
  });

  after(async () => {
    socket?.close();
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** assertNoCanary searches every byte the server keeps, and its log, for every canary. */
  function assertNoCanary(when: string, running = true): void {
    const files = filesUnder(data);
    if (running)
      assert.ok(
        files.some((f) => f.endsWith('server.sqlite-wal')),
        `${when}: the WAL is searched too (${files.join(', ')})`,
      );
    for (const [what, name] of Object.entries(names)) {
      for (const file of files) {
        const bytes = readFileSync(file);
        for (const form of [name, name.toLowerCase(), Buffer.from(name, 'utf16le')]) {
          assert.equal(bytes.indexOf(form), -1, `${when}: the ${what} canary is in ${file}`);
        }
      }
      assert.doesNotMatch(
        server!.output(),
        new RegExp(name, 'i'),
        `${when}: the ${what} canary is in the log`,
      );
    }
  }

  it('a partial backup (a source gone, a FIFO and a socket unreadable) reports codes and counts only', async () => {
    const run = await cumulus(['backup']);
    assert.match(`${run.stdout}${run.stderr}`, new RegExp(names.fifo), 'the device itself names the file');
    assertNoCanary('after a partial backup');
    const { devices } = JSON.parse((await cumulus(['devices', 'list', '--json'])).stdout);
    assert.equal(devices[0].lastOutcome, 'partial');
    assert.deepEqual(devices[0].lastReason.codes, ['problems']);
    assert.equal(devices[0].lastReason.values.problems, 3, 'the missing source, the FIFO and the socket');
  });

  it('a failed backup (every source gone) reports its error code only', async () => {
    await rename(join(home, names.source), join(home, names.moved));
    const run = await cumulus(['backup']);
    assert.notEqual(run.code, 0, 'nothing to back up');
    assertNoCanary('after a failed backup');
    const { devices } = JSON.parse((await cumulus(['devices', 'list', '--json'])).stdout);
    assert.equal(devices[0].lastOutcome, 'failed');
    assert.deepEqual(devices[0].lastReason.codes, ['source_missing']);
    await server!.stop();
    assertNoCanary('after the server stopped (the WAL checkpointed into the database)', false);
  });
});
