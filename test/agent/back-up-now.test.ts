/**
 * `cumulus backup` hands "back up now" to a running agent and follows it through the
 * state file. Here the test plays the agent (its lock, heartbeat and state) to pin what the
 * command does when the agent is busy, hung, or goes away.
 */
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { afterEach, describe, it } from 'node:test';
import { backUpNow } from '../../src/agent/back-up-now.ts';
import { BackupRequests } from '../../src/agent/backup-request.ts';
import { isCumulusError } from '../../src/core/errors.ts';
import { makeWorld, type World } from './fakes.ts';

let world: World;
afterEach(() => world?.cleanup());

/** playAgent makes this process look like a running agent: its lock and, when `beating`, a fresh heartbeat. */
async function playAgent(w: World, beating: boolean): Promise<void> {
  await writeFile(w.ctx.paths.lock, JSON.stringify({ pid: process.pid, host: hostname(), startedAt: 0 }));
  const now = w.clock.now();
  await w.ctx.state.update(now, (s) => {
    s.agent = beating ? { pid: process.pid, version: '0.1.0', startedAt: now, heartbeatAt: now } : null;
  });
}

async function until(test: () => Promise<boolean>): Promise<void> {
  while (!(await test())) await new Promise((resolve) => setTimeout(resolve, 5));
}

describe('back up now, with an agent running', () => {
  it('waits behind a backup the agent is running, says so, shows progress and returns the result', async () => {
    world = await makeWorld();
    await playAgent(world, true);
    await world.ctx.state.update(world.clock.now(), (s) => {
      s.activity = { kind: 'backing-up', since: 0, message: 'backing up' };
    });
    const notices: string[] = [];
    const progress: number[] = [];
    const done = backUpNow(world.ctx, {
      pollMs: 5,
      onNotice: (line) => notices.push(line),
      onProgress: (p) => progress.push(p.filesDone),
    });
    const requests = new BackupRequests(world.ctx.paths.backupRequest);
    await until(async () => notices.length > 0);
    const request = await requests.take();
    assert.ok(request, 'the request waited for the agent');
    await world.ctx.state.update(world.clock.now(), (s) => {
      s.runningRequest = request.id;
      s.activity = {
        kind: 'backing-up',
        since: 0,
        message: 'backing up',
        progress: { filesDone: 7, bytesDone: 70, bytesUploaded: 70 },
      };
    });
    await until(async () => progress.includes(7));
    const outcome = {
      status: 'success' as const,
      snapshotId: 'snap-9',
      filesNew: 7,
      filesChanged: 0,
      bytesAdded: 70,
      durationMs: 5,
      problems: [],
    };
    await world.ctx.state.update(world.clock.now(), (s) => {
      s.runningRequest = null;
      s.lastRequest = { id: request.id, kind: 'completed', outcome };
    });
    assert.deepEqual(await done, { kind: 'completed', outcome });
    assert.match(notices[0]!, /finishing a backup it had started/);
  });

  it('says the agent did not take the request when it is hung, and withdraws the request', async () => {
    world = await makeWorld();
    await playAgent(world, false);
    await assert.rejects(
      backUpNow(world.ctx, { pollMs: 5, onProgress: () => {} }),
      (error) => isCumulusError(error, 'conflict') && /did not take the backup request/.test(error.message),
    );
    assert.equal(await new BackupRequests(world.ctx.paths.backupRequest).pending(), false);
  });

  it('reports a stopped backup when the agent goes away while running it', async () => {
    world = await makeWorld();
    await playAgent(world, true);
    const done = backUpNow(world.ctx, { pollMs: 5, onProgress: () => {} });
    const requests = new BackupRequests(world.ctx.paths.backupRequest);
    await until(() => requests.pending());
    const request = await requests.take();
    await world.ctx.state.update(world.clock.now(), (s) => {
      s.runningRequest = request!.id;
    });
    await rm(world.ctx.paths.lock);
    assert.deepEqual(await done, { kind: 'stopped', blockers: [] });
  });

  it('stops following on Ctrl-C and says the agent goes on with the backup', async () => {
    world = await makeWorld();
    await playAgent(world, true);
    const interrupt = new AbortController();
    const notices: string[] = [];
    const done = backUpNow(world.ctx, {
      pollMs: 5,
      signal: interrupt.signal,
      onNotice: (line) => notices.push(line),
      onProgress: () => {},
    });
    const requests = new BackupRequests(world.ctx.paths.backupRequest);
    await until(() => requests.pending());
    interrupt.abort();
    assert.deepEqual(await done, { kind: 'stopped', blockers: [] });
    assert.match(notices.join('\n'), /the agent goes on with the backup/);
    assert.equal(await requests.pending(), true, 'the request stays for the agent');
  });

  it('backs up in the command itself when the agent stops before taking the request', async () => {
    world = await makeWorld();
    await playAgent(world, true);
    const done = backUpNow(world.ctx, { pollMs: 5, onProgress: () => {} });
    const requests = new BackupRequests(world.ctx.paths.backupRequest);
    await until(() => requests.pending());
    await rm(world.ctx.paths.lock);
    while (world.engine.runs === 0) await world.clock.advance(1_000);
    await world.clock.advance(20_000);
    const result = await done;
    assert.equal(result.kind, 'completed');
    assert.equal(await requests.pending(), false, 'the request was withdrawn');
  });
});
