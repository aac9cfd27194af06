/**
 * Scale-out end to end: three `cumulus server` replicas on one PostgreSQL and one S3
 * bucket (s3rver) behind HAProxy, 200 devices of 50 accounts backing up at once from four
 * processes on default settings. One replica is
 * killed with SIGKILL mid-run. Every backup must succeed (clients retry on another
 * replica), each account's usage must equal a recount from its index, packs must read
 * back whole, and sampled devices restore identically.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { type DeviceState, saveDeviceState } from '../../src/client/device-state.ts';
import { UnlockedRepository } from '../../src/client/unlocked-repository.ts';
import { deriveSubkeys } from '../../src/core/keys.ts';
import { parseServerConfig } from '../../src/server/config.ts';
import { accountStoreOf } from '../../src/server/services/account-repositories.ts';
import { openServerData } from '../../src/server/start.ts';
import type { RepositoryStore } from '../../src/store/repository-store.ts';
import { startS3rver } from '../../src/store/s3-testing.ts';
import { cumulusAsync, runCumulus } from '../helpers/cli.ts';
import { freePort, haproxyMissing, startHaproxy } from '../helpers/haproxy.ts';
import { findPostgres, NO_POSTGRES, startPostgres } from '../helpers/postgres.ts';
import { compareTrees } from '../helpers/trees.ts';
import { approvedDevice, createAccount, firstDevice, startTestServer } from '../server/helpers.ts';
import { PASSWORD, randomTree } from '../server/repository-helpers.ts';
import type { FleetDevice } from './fleet/back-up-devices.ts';
import { runFleet } from './fleet/run-fleet.ts';

const ACCOUNTS = 50;
const DEVICES_PER_ACCOUNT = 4;
const PROCESSES = 4;

interface Replica {
  port: number;
  child: ChildProcess;
}

async function startReplica(data: string, env: Record<string, string>, port?: number): Promise<Replica> {
  port ??= await freePort();
  const child = cumulusAsync(['server', '--data', data, '--port', String(port), '--log-level', 'warn'], env);
  let seen = '';
  child.stdout!.on('data', (chunk) => (seen += chunk));
  child.stderr!.on('data', (chunk) => (seen += chunk));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', () => /listening on/.test(seen) && resolve());
    child.on('exit', () => reject(new Error(`a replica exited: ${seen}`)));
  });
  return { port, child };
}

function stopped(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  child.kill(signal);
  return exited;
}

/**
 * recount adds up, from the index, the stored bytes of every blob the account's snapshots
 * reach (snapshot descriptions, trees, file chunks), each once, walking the trees with the
 * account's key: it shares nothing with the reference counts the usage comes from.
 */
async function recount(store: RepositoryStore, owner: DeviceState): Promise<number> {
  const keys = deriveSubkeys(Buffer.from(owner.accountKey, 'base64'), owner.repositoryConfig.id);
  const vault = new UnlockedRepository(store, keys, owner.repositoryConfig);
  const reached = new Set<string>();
  const walk = async (tree: string): Promise<void> => {
    if (reached.has(tree)) return;
    reached.add(tree);
    for (const entry of await vault.readTree(tree)) {
      if (entry.type === 'dir') await walk(entry.tree);
      if (entry.type === 'file') for (const chunk of entry.chunks) reached.add(chunk);
    }
  };
  for (const snapshot of await store.listSnapshots()) {
    reached.add(snapshot.id);
    for (const source of snapshot.sources) await walk(source.tree);
  }
  let bytes = 0;
  for (const id of reached) {
    const location = await store.locate(id);
    assert.ok(location, `blob ${id} is indexed`);
    bytes += location.length;
  }
  return bytes;
}

const skip = haproxyMissing() || (findPostgres() === undefined && NO_POSTGRES);

describe('scale-out: 200 devices through HAProxy and three replicas', { skip }, () => {
  const cleanup: (() => Promise<void>)[] = [];
  after(async () => {
    for (const step of cleanup.reverse()) await step().catch(() => {});
  });

  it('backs every device up while a replica is killed, with exact usage and restorable data', {
    timeout: 900_000,
  }, async (t) => {
    const started = performance.now();
    const phase = (name: string) =>
      t.diagnostic(`${name} after ${((performance.now() - started) / 1000).toFixed(1)} s`);
    const work = await mkdtemp(join(tmpdir(), 'cumulus-scale-out-'));
    cleanup.push(() => rm(work, { recursive: true, force: true }));
    const data = join(work, 'data');
    const postgres = await startPostgres();
    cleanup.push(() => postgres.stop());
    const s3 = await startS3rver();
    cleanup.push(() => s3.close());
    // What every replica is started with: one database and one bucket for all.
    const env = {
      ...s3.env,
      CUMULUS_DATABASE_URL: await postgres.database(),
      CUMULUS_BLOB_STORE: `s3://${s3.bucket}/scale-out`,
    };
    const shared = parseServerConfig({ data, port: '0' }, env);
    const sharedData = { dataDir: data, databaseUrl: shared.databaseUrl, blobStore: shared.blobStore };

    // Accounts and devices are made before the replicas start, through one server (sign-in
    // is rate limited per address, and every device here shares one).
    const devices: FleetDevice[] = [];
    const provisioning = await startTestServer({
      dataDir: data,
      config: { databaseUrl: shared.databaseUrl, blobStore: shared.blobStore },
    });
    try {
      for (let a = 0; a < ACCOUNTS; a++) {
        const email = `fleet${a}@example.com`;
        await createAccount(provisioning, email, PASSWORD);
        const first = (await firstDevice(provisioning, email, PASSWORD, `device-${a}-0`)).state;
        const states: DeviceState[] = [first];
        for (let d = 1; d < DEVICES_PER_ACCOUNT; d++)
          states.push(await approvedDevice(provisioning, first, PASSWORD, `device-${a}-${d}`));
        for (const [d, state] of states.entries()) {
          devices.push({ state, tree: await randomTree(12, 24_000, 1 + a * DEVICES_PER_ACCOUNT + d) });
        }
      }
    } finally {
      await provisioning.close();
    }
    cleanup.push(async () => {
      await Promise.all(devices.map((d) => rm(d.tree, { recursive: true, force: true })));
    });

    phase('provisioned');
    const replicas = [
      await startReplica(data, env),
      await startReplica(data, env),
      await startReplica(data, env),
    ];
    cleanup.push(async () => {
      for (const r of replicas) await stopped(r.child, 'SIGTERM');
    });
    const balancer = await startHaproxy(
      work,
      replicas.map((r) => r.port),
    );
    cleanup.push(() => balancer.stop());
    for (const device of devices) device.state = { ...device.state, serverUrl: balancer.url };

    const shares = Array.from({ length: PROCESSES }, (_, i) => devices.filter((_, j) => j % PROCESSES === i));
    // Meanwhile garbage collection runs again and again with no grace at all, as a leader's
    // would: only the write sessions of the backups under way protect their uploads.
    let uploading = true;
    const collector = openServerData(sharedData).then(async (gcData) => {
      let rounds = 0;
      try {
        while (uploading) {
          for (const accountId of new Set(devices.map((d) => d.state.accountId))) {
            await (await accountStoreOf(gcData.services.repositories, accountId)).collectGarbage({
              graceMs: 0,
            });
          }
          rounds++;
        }
      } finally {
        await gcData.close();
      }
      return rounds;
    });
    const fleets = shares.map(async (share, i) => {
      const run = await runFleet(share, join(work, `fleet-${i}.json`), join(work, `cache-${i}`));
      return run.results;
    });
    // Kill one replica while the uploads are under way; as a supervisor would, start it
    // again on its port (which also keeps another program from taking the port the
    // balancer still checks).
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const killed = replicas[1].child;
    await stopped(killed, 'SIGKILL');
    replicas[1] = await startReplica(data, env, replicas[1].port);
    phase('replica killed and restarted');
    const runs = await Promise.all(fleets);
    phase('backups done');
    uploading = false;
    assert.ok((await collector) > 0, 'garbage collection ran during the uploads');
    const results = runs.flat();
    const failed = results.filter((r) => !r.ok);
    assert.deepEqual(
      failed.slice(0, 3),
      [],
      `no backup failed (${failed.length} did); the balancer said:\n${balancer.output()}`,
    );
    assert.equal(results.length, ACCOUNTS * DEVICES_PER_ACCOUNT);
    assert.equal(killed.signalCode, 'SIGKILL', 'a replica was killed during the run');

    // Sampled devices restore identically through the balancer, with the real CLI.
    for (const sample of [devices[0], devices[77], devices[199]]) {
      const config = join(work, `device-${sample.state.deviceId}`);
      await saveDeviceState(sample.state, config);
      const target = join(work, `restore-${sample.state.deviceId}`);
      const snapshotId = results.find((r) => r.device === sample.state.deviceId)!.snapshotId!;
      const restored = await runCumulus(['restore', snapshotId, '--target', target], {
        CUMULUS_CONFIG_DIR: config,
        CUMULUS_REPOSITORY: '',
      });
      assert.equal(restored.code, 0, restored.stderr);
      assert.deepEqual(compareTrees(sample.tree, target), [], 'one source restores straight into the target');
    }

    phase('restored');
    await balancer.stop();
    for (const r of replicas) await stopped(r.child, 'SIGTERM');

    phase('stopped');
    // Usage equals a recount, and every pack reads back whole.
    const opened = await openServerData(sharedData);
    try {
      for (const accountId of new Set(devices.map((d) => d.state.accountId))) {
        const { store } = await accountStoreOf(opened.services.repositories, accountId);
        const usage = await store.usage();
        const snapshots = await store.listSnapshots();
        assert.equal(snapshots.length, DEVICES_PER_ACCOUNT, 'one snapshot per device');
        const packs = await store.checkPacks({ readData: true });
        assert.deepEqual(
          packs.filter((p) => !p.ok),
          [],
          'every pack reads back whole',
        );
        const owner = devices.find((d) => d.state.accountId === accountId)!.state;
        assert.equal(
          usage.referencedBytes,
          await recount(store, owner),
          `usage of ${accountId} equals a recount`,
        );
      }
    } finally {
      await opened.close();
    }
    phase('verified');
  });
});
