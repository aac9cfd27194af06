/**
 * The whole story through the real `cumulus` CLI and a real server process: create the
 * admin, start the server, sign in a first device (it shows the recovery key), sign in a
 * second one with the code the first shows (read from standard input), manage plan,
 * devices and sessions, declare an incident from the admin CLI while the server runs,
 * and sign out.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, it } from 'node:test';
import type { SessionInfo } from '../../src/api/account.ts';
import type { Device } from '../../src/api/devices.ts';
import type { Release } from '../../src/api/releases.ts';
import type { StatusReport } from '../../src/api/status.ts';
import { startServerProcess } from '../helpers/cli.ts';

const MAIN = join(import.meta.dirname, '../../src/cli/main.ts');
const PASSWORD = 'cli test password';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function start(args: string[], env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, [MAIN, ...args], {
    env: { ...process.env, CUMULUS_KDF_COST: '1024', CUMULUS_PASSWORD: PASSWORD, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

function finished(child: ChildProcess): Promise<Run> {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => (stdout += chunk));
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

function cumulus(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const child = start(args, env);
  child.stdin!.end();
  return finished(child);
}

/** waitFor resolves with the first match of `pattern` in a stream's output. */
function waitFor(stream: NodeJS.ReadableStream, pattern: RegExp): Promise<RegExpMatchArray> {
  let seen = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      seen += chunk;
      const match = seen.match(pattern);
      if (match) {
        stream.off('data', onData);
        resolve(match);
      }
    };
    stream.on('data', onData);
    stream.on('end', () => reject(new Error(`stream ended before ${pattern}: ${seen}`)));
  });
}

describe('cumulus CLI against a server process', () => {
  let dir: string;
  let data: string;
  let stopServer: (() => Promise<void>) | undefined;
  let url: string;
  const one = () => ({ CUMULUS_CONFIG_DIR: join(dir, 'one') });
  const two = () => ({ CUMULUS_CONFIG_DIR: join(dir, 'two') });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cumulus-cli-'));
    data = join(dir, 'data');
    const running = await startServerProcess(data, 'owner@example.com', { CUMULUS_PASSWORD: PASSWORD });
    url = running.url;
    stopServer = running.stop;
  });

  after(async () => {
    await stopServer?.();
    await rm(dir, { recursive: true, force: true });
  });

  it('signs in two devices with an approval code, manages the account, and signs out', async () => {
    const first = await cumulus(
      ['login', url, '--email', 'owner@example.com', '--device-name', 'desk'],
      one(),
    );
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /recovery key is:\s+([0-9a-f]{8}-){7}[0-9a-f]{8}/);

    const login = start(['login', url, '--email', 'owner@example.com', '--device-name', 'laptop'], two());
    const result = finished(login);
    await waitFor(login.stderr!, /Verification code: /);
    const approvals = await cumulus(['approve', '--json'], one());
    const [pending] = JSON.parse(approvals.stdout).approvals;
    assert.equal(pending.deviceName, 'laptop');
    login.stdin!.end(`${pending.code}\n`);
    const second = await result;
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /signed in as owner@example.com/);
    assert.doesNotMatch(second.stdout, /recovery key/, 'only the first device sees the recovery key');

    const stateOne = JSON.parse(await readFile(join(dir, 'one', 'device.json'), 'utf8'));
    const stateTwo = JSON.parse(await readFile(join(dir, 'two', 'device.json'), 'utf8'));
    assert.equal(
      stateTwo.accountKey,
      stateOne.accountKey,
      'the second device unwrapped the same account key',
    );

    const listed = JSON.parse((await cumulus(['devices', 'list', '--json'], two())).stdout);
    assert.deepEqual(
      listed.devices.map((d: Device) => [d.name, d.current]),
      [
        ['desk', false],
        ['laptop', true],
      ],
    );

    // Keyless upkeep of an account's repository is the server's: refused up front, nothing changed.
    for (const command of [
      ['prune'],
      ['check'],
      ['repair', 'index'],
      ['forget', '--keep-last', '1', '--prune'],
    ]) {
      const refused = await cumulus(command, two());
      assert.equal(refused.code, 2, `${command.join(' ')}: ${refused.stderr}`);
      assert.match(refused.stderr, /runs on the server for an account's repository/);
    }

    const hidden = await cumulus(['plan', 'set', '50gb'], two());
    assert.notEqual(hidden.code, 0, 'only Free is self-service on a new server');
    const offered = await cumulus([
      'server',
      'plan',
      'put',
      '50gb',
      '--data',
      data,
      '--name',
      '50 GB',
      '--quota',
      '50GB',
    ]);
    assert.equal(offered.code, 0, offered.stderr);
    const plan = await cumulus(['plan', 'set', '50gb'], two());
    assert.equal(plan.code, 0, plan.stderr);
    assert.match(plan.stdout, /plan 50 GB \(50gb\): 0 B of 50 GB used/);
    const unknown = await cumulus(['plan', 'set', 'platinum'], two());
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /there is no plan "platinum"/);

    const incident = await cumulus([
      'server',
      'incident',
      'add',
      '--data',
      data,
      '--title',
      'Disk trouble',
      '--components',
      'blob_storage',
    ]);
    assert.equal(incident.code, 0, incident.stderr);
    const status = (await (await fetch(`${url}/api/status`)).json()) as StatusReport;
    assert.equal(
      status.components.find((c) => c.id === 'blob_storage')?.status,
      'red',
      'the running server sees the CLI incident',
    );
    // The running server collected garbage on its schedule at start; the admin CLI reads the run.
    const gc = status.maintenance.find((job) => job.name === 'gc');
    assert.equal(gc?.lastRun?.outcome, 'ok');
    assert.equal(gc?.everyMinutes, 60);
    const serverStatus = await cumulus(['server', 'status', '--data', data]);
    assert.equal(serverStatus.code, 0, serverStatus.stderr);
    assert.match(serverStatus.stdout, /Blob storage: red \(incident: Disk trouble\)/);
    assert.match(serverStatus.stdout, /\n {2}gc: last run \S+: ok: accounts \d+, freedBytes \d+/);

    const logout = await cumulus(['logout'], two());
    assert.equal(logout.code, 0, logout.stderr);
    await assert.rejects(readFile(join(dir, 'two', 'device.json')), { code: 'ENOENT' });
    const after = await cumulus(['devices', 'list'], two());
    assert.notEqual(after.code, 0);
    assert.match(after.stderr, /not signed in/);
    const sessions = JSON.parse((await cumulus(['account', 'sessions', '--json'], one())).stdout).sessions;
    assert.deepEqual(
      sessions.map((s: SessionInfo) => s.deviceName),
      ['desk'],
      'the server revoked the laptop session',
    );
  });

  it('adds a user by a one-time invite: the admin is never asked a password, the user chooses it', async () => {
    // No password anywhere for the admin: the old `user add` asked for the new user's.
    const invited = await cumulus(
      ['server', 'user', 'add', '--data', data, '--email', 'Nia@example.com', '--url', url],
      {
        CUMULUS_PASSWORD: '',
      },
    );
    assert.equal(invited.code, 0, invited.stderr);
    const command = /cumulus (login .* --invite (\S+))\n/.exec(invited.stdout);
    assert.ok(command, invited.stdout);
    const args = command[1].split(' ');
    assert.deepEqual(args.slice(0, 4), ['login', url, '--email', 'nia@example.com']);
    const nia = { CUMULUS_CONFIG_DIR: join(dir, 'nia'), CUMULUS_PASSWORD: 'nia chose this' };
    const signedIn = await cumulus(args, nia);
    assert.equal(signedIn.code, 0, signedIn.stderr);
    assert.match(signedIn.stdout, /signed in as nia@example.com/);
    assert.match(signedIn.stdout, /first device: it created the account key/);
    const again = await cumulus(args, { CUMULUS_CONFIG_DIR: join(dir, 'thief'), CUMULUS_PASSWORD: 'taken' });
    assert.notEqual(again.code, 0, 'an invite works once');
    assert.match(again.stderr, /invite is unknown, used or expired/);
  });

  it('a device refuses a password cost below the floor, or below what it signed in with before', async () => {
    const invited = await cumulus([
      'server',
      'user',
      'add',
      '--data',
      data,
      '--email',
      'kdf@example.com',
      '--url',
      url,
    ]);
    const args = /cumulus (login .*)\n/.exec(invited.stdout)![1].split(' ');
    const device = {
      CUMULUS_CONFIG_DIR: join(dir, 'kdf'),
      CUMULUS_PASSWORD: 'kdf pw',
      CUMULUS_KDF_COST: '2048',
    };
    assert.equal((await cumulus(args, device)).code, 0);
    assert.equal((await cumulus(['logout'], device)).code, 0);
    // A hostile server (or one replaced) now answers a cheaper stretch, to guess faster.
    const db = new DatabaseSync(join(data, 'server.sqlite'));
    db.prepare("UPDATE accounts SET kdf = json_set(kdf, '$.N', 1024) WHERE email = 'kdf@example.com'").run();
    db.close();
    const again = await cumulus(['login', url, '--email', 'kdf@example.com'], {
      ...device,
      CUMULUS_KDF_COST: '1024',
    });
    assert.notEqual(again.code, 0, 'below what this device signed in with before');
    assert.match(again.stderr, /unusual password cost \(scrypt N=1024/);
    const fresh = await cumulus(['login', url, '--email', 'kdf@example.com'], {
      CUMULUS_CONFIG_DIR: join(dir, 'kdf-fresh'),
      CUMULUS_PASSWORD: 'kdf pw',
      CUMULUS_KDF_COST: '',
    });
    assert.notEqual(fresh.code, 0, 'below the floor of 2^16');
    assert.match(fresh.stderr, /unusual password cost/);
  });

  it('reports a wrong password and bad admin input plainly', async () => {
    const wrong = await cumulus(['login', url, '--email', 'owner@example.com'], {
      ...one(),
      CUMULUS_CONFIG_DIR: join(dir, 'three'),
      CUMULUS_PASSWORD: 'nope',
    });
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /the email or the password is wrong/);
    const badEmail = await cumulus(['server', 'user', 'add', '--data', data, '--email', 'not-an-email']);
    assert.notEqual(badEmail.code, 0);
    assert.match(badEmail.stderr, /invalid email/);
    const badVersion = await cumulus([
      'server',
      'release',
      'publish',
      'latest',
      '--data',
      data,
      '--minimum',
      '1.0.0',
    ]);
    assert.notEqual(badVersion.code, 0);
    assert.match(badVersion.stderr, /invalid release \(version\)/);
    const published = await cumulus([
      'server',
      'release',
      'publish',
      '0.1.0',
      '--data',
      data,
      '--minimum',
      '0.1.0',
      '--notes',
      'first',
    ]);
    assert.equal(published.code, 0, published.stderr);
    const latest = (await (await fetch(`${url}/api/agent/latest`)).json()) as { latest: Release };
    assert.equal(latest.latest.version, '0.1.0');
  });
});
