/**
 * RepositoryService is the per-account repository API and Manage Storage over the keyless
 * store: every call takes the caller first and acts on the caller's account only, so
 * another account's IDs are not found. Quota: an upload is refused before it writes when
 * the bytes the account stores (every pack, committed or not, until collected) + the
 * uploads in progress on any replica (claims in the server database, upload-claims.ts) +
 * the pack exceed the plan; a commit is checked again inside the store's write
 * transaction (referenced bytes), so two devices racing for the last bytes cannot both
 * win. Usage warnings are recorded after each commit and delete.
 */
import type { RepositoryConfig } from '../../api/common.ts';
import type { SnapshotCommit as CommitBody, SnapshotRecordOut, StorageReport } from '../../api/repository.ts';
import { blobFrame, decodeIds, encodeIds, INDEX_PAGE, MAX_READ_ANSWER_BYTES } from '../../api/repository.ts';
import { CumulusError } from '../../core/errors.ts';
import type { DeviceUsage, UsageReport } from '../../store/types.ts';
import type { Clock } from '../clock.ts';
import type { Database } from '../db/database.ts';
import { type AccountRepositories, type AccountStore, accountStoreOf } from './account-repositories.ts';
import type { AccountsService } from './accounts.ts';
import type { Caller } from './caller.ts';
import type { DevicesService } from './devices.ts';
import type { ForecastService } from './forecast.ts';
import type { PinsService } from './pins.ts';
import type { PlansService } from './plans.ts';
import type { RetentionService } from './retention.ts';
import { UploadClaims } from './upload-claims.ts';

/** HEARTBEAT_SECONDS is how often a client should renew its write session (it lapses after 10 minutes). */
export const HEARTBEAT_SECONDS = 60;

function quotaExceeded(usage: number, quota: number, needed: number): CumulusError {
  const shortfall = usage + needed - quota;
  return new CumulusError(
    'quota_exceeded',
    `storage full: this upload needs ${needed} bytes, ${Math.max(0, quota - usage)} are free in the plan (${shortfall} short)`,
    {
      hint: 'delete a source or device you no longer need (`cumulus storage`), exclude large files, or move to a larger plan (`cumulus plan`)',
      details: { usage, quota, needed, shortfall },
    },
  );
}

export class RepositoryService {
  readonly #repositories: AccountRepositories;
  readonly #plans: PlansService;
  readonly #devices: DevicesService;
  readonly #accounts: AccountsService;
  readonly #pins: PinsService;
  readonly #retention: RetentionService;
  readonly #forecast: ForecastService;
  readonly #claims: UploadClaims;

  constructor(deps: {
    db: Database;
    clock: Clock;
    repositories: AccountRepositories;
    plans: PlansService;
    devices: DevicesService;
    accounts: AccountsService;
    pins: PinsService;
    retention: RetentionService;
    forecast: ForecastService;
  }) {
    this.#claims = new UploadClaims(deps.db, deps.clock);
    this.#forecast = deps.forecast;
    this.#pins = deps.pins;
    this.#retention = deps.retention;
    this.#repositories = deps.repositories;
    this.#plans = deps.plans;
    this.#devices = deps.devices;
    this.#accounts = deps.accounts;
  }

  #store(caller: Caller): Promise<AccountStore> {
    return accountStoreOf(this.#repositories, caller.accountId);
  }

  async config(caller: Caller): Promise<RepositoryConfig> {
    const { keys } = await this.#accounts.getKeys(caller);
    if (keys === null) {
      throw new CumulusError('not_found', 'the account has no repository yet', {
        hint: 'the first device creates it when it signs in',
      });
    }
    return keys.repositoryConfig;
  }

  async missingBlobs(caller: Caller, ids: string[]): Promise<string[]> {
    return [...(await (await this.#store(caller)).store.missingBlobs(ids))];
  }

  /** blobIndex is one page of the account's blob IDs after `since`, the IDs as base64 of their bytes. */
  async blobIndex(
    caller: Caller,
    since: number,
  ): Promise<{ generation: string; cursor: number; ids: string; complete: boolean }> {
    const delta = await (await this.#store(caller)).store.blobsSince(since, INDEX_PAGE);
    return { ...delta, ids: encodeIds(delta.ids) };
  }

  /**
   * readBlobs yields the read-blobs answer (BLOB_FRAME) piece by piece as the store reads
   * each pack run, and stops once MAX_READ_ANSWER_BYTES are out: the client asks again for
   * the IDs not answered. Nothing is built whole in memory.
   */
  async *readBlobs(caller: Caller, ids: string[]): AsyncGenerator<Buffer> {
    const { store } = await this.#store(caller);
    let sent = 0;
    for await (const [id, read] of store.streamBlobs(ids)) {
      const [header, payload] = blobFrame(id, read);
      yield header;
      yield payload;
      sent += header.length + payload.length;
      if (sent >= MAX_READ_ANSWER_BYTES) return;
    }
  }

  /** uploadPack stores a pack (verified by the store against its ID) unless the quota has no room for it. */
  async uploadPack(caller: Caller, packId: string, pack: Buffer): Promise<number> {
    const { store } = await this.#store(caller);
    if (await store.hasPack(packId)) return 0;
    const quota = (await this.#plans.planOf(caller.accountId)).quotaBytes;
    const claim = await this.#claims.claim(caller.accountId, pack.length);
    try {
      // Read after the claim is made: upload-claims.ts says why that order is exact.
      const claimed = (await store.storedBytes()) + claim.ahead;
      if (claimed + pack.length > quota) throw quotaExceeded(claimed, quota, pack.length);
      return (await store.addPack(pack, packId)).bytes;
    } finally {
      // A claim that cannot be released now still expires; the answer does not wait on it.
      await this.#claims.release(claim).catch(() => {});
    }
  }

  /**
   * commit stores a snapshot of the calling device; the quota is checked in the same
   * transaction, which also counts the usage recorded after it (no second look).
   */
  async commit(caller: Caller, body: CommitBody): Promise<number> {
    const account = await this.#store(caller);
    const plan = await this.#plans.planOf(caller.accountId);
    const { referencedBytes, addedBytes } = await account.store.commitSnapshot(
      {
        id: body.id,
        time: body.time,
        device: caller.deviceId,
        sources: body.sources.map((s) => ({
          id: s.id,
          tree: s.tree,
          logicalSize: s.logicalSize,
          refs: decodeIds(s.refs),
        })),
      },
      { maxReferencedBytes: plan.quotaBytes },
    );
    await this.#plans.recordUsage(caller.accountId, referencedBytes, plan.quotaBytes);
    const logical = body.sources.reduce((sum, s) => sum + s.logicalSize, 0);
    await this.#forecast.recordCommit(caller.accountId, caller.deviceId, addedBytes, logical);
    // Thinning is the server's, in the background: the commit's answer does not wait for it.
    this.#retention.afterCommit(caller.accountId);
    return referencedBytes;
  }

  async #recordUsage(caller: Caller, account: AccountStore): Promise<number> {
    const used = await account.usedBytes();
    const plan = await this.#plans.planOf(caller.accountId);
    await this.#plans.recordUsage(caller.accountId, used, plan.quotaBytes);
    return used;
  }

  async #deviceNames(caller: Caller): Promise<Map<string, string>> {
    return new Map((await this.#devices.list(caller)).map((d) => [d.id, d.name]));
  }

  async listSnapshots(caller: Caller, which: 'self' | 'all'): Promise<SnapshotRecordOut[]> {
    const records = await (await this.#store(caller)).store.listSnapshots();
    const names = await this.#deviceNames(caller);
    return records
      .filter((r) => which === 'all' || r.device === caller.deviceId)
      .map((r) => ({ ...r, deviceName: names.get(r.device) ?? '' }));
  }

  /** forget removes snapshots of the account; an ID it does not hold is 'snapshot_not_found' and nothing is removed. */
  async forget(caller: Caller, ids: string[]): Promise<number> {
    const account = await this.#store(caller);
    const held = new Set((await account.store.listSnapshots()).map((s) => s.id));
    const unknown = ids.filter((id) => !held.has(id));
    if (unknown.length > 0) {
      throw new CumulusError(
        'snapshot_not_found',
        `no snapshot ${unknown[0].slice(0, 12)}… in this account`,
        {
          hint: 'list them with `cumulus snapshots`',
        },
      );
    }
    const pinned = await this.#pins.pinnedSnapshots(caller.accountId);
    const kept = ids.find((id) => pinned.has(id));
    if (kept !== undefined) {
      throw new CumulusError('conflict', `snapshot ${kept.slice(0, 12)}… is pinned`, {
        hint: `unpin it first: \`cumulus snapshots unpin ${kept.slice(0, 8)}\``,
      });
    }
    const freed = await account.store.forgetSnapshots(ids);
    await this.#recordUsage(caller, account);
    return freed;
  }

  async usage(caller: Caller): Promise<UsageReport> {
    return (await this.#store(caller)).store.usage();
  }

  /** beginWrite opens a write session: gc keeps every blob touched after it began while it lives. */
  async beginWrite(caller: Caller): Promise<string> {
    const { store } = await this.#store(caller);
    // Not this host's process: the session lives by its client's heartbeats alone.
    return (await store.openLease({ host: `device:${caller.deviceId}`, pid: 0, kind: 'backup' })).id;
  }

  async heartbeatWrite(caller: Caller, sessionId: string): Promise<void> {
    await (await this.#store(caller)).store.renewLease(sessionId);
  }

  async releaseWrite(caller: Caller, sessionId: string): Promise<void> {
    await (await this.#store(caller)).store.endLease(sessionId);
  }

  /** storage is Manage Storage: exact usage per device and source, with the account's quota. */
  async storage(caller: Caller): Promise<StorageReport> {
    const { store } = await this.#store(caller);
    const breakdown = await store.storageBreakdown();
    const names = await this.#deviceNames(caller);
    const plan = await this.#plans.planOf(caller.accountId);
    return {
      usedBytes: breakdown.referencedBytes,
      quotaBytes: plan.quotaBytes,
      devices: breakdown.devices.map((d) => ({
        deviceId: d.device,
        deviceName: names.get(d.device) ?? '',
        current: d.device === caller.deviceId,
        logicalSize: d.logicalSize,
        storedBytes: d.storedBytes,
        exclusiveBytes: d.exclusiveBytes,
        snapshots: d.snapshots,
        sources: d.sources.map((s) => ({ ...s, sharedBytes: s.storedBytes - s.exclusiveBytes })),
      })),
    };
  }

  async #deviceUsage(account: AccountStore, deviceId: string): Promise<DeviceUsage> {
    const device = (await account.store.storageBreakdown()).devices.find((d) => d.device === deviceId);
    if (device === undefined) {
      throw new CumulusError('not_found', 'that device has no backups in this account', {
        hint: 'see `cumulus storage` for the devices and sources that hold data',
      });
    }
    return device;
  }

  /** deleteSource removes one source from every snapshot of a device, then collects garbage. */
  async deleteSource(
    caller: Caller,
    deviceId: string,
    sourceId: string,
  ): Promise<{ freedBytes: number; usedBytes: number }> {
    const account = await this.#store(caller);
    const device = await this.#deviceUsage(account, deviceId);
    if (!device.sources.some((s) => s.id === sourceId)) {
      throw new CumulusError('not_found', 'that device has no backups of that source', {
        hint: 'see `cumulus storage` for the sources that hold data',
      });
    }
    const freedBytes = await account.store.deleteSource(deviceId, sourceId);
    return this.#afterDelete(caller, account, freedBytes);
  }

  /** deleteDevice removes every snapshot of a device, then collects garbage. */
  async deleteDevice(caller: Caller, deviceId: string): Promise<{ freedBytes: number; usedBytes: number }> {
    const account = await this.#store(caller);
    await this.#deviceUsage(account, deviceId);
    const freedBytes = await account.store.deleteDevice(deviceId);
    return this.#afterDelete(caller, account, freedBytes);
  }

  async #afterDelete(
    caller: Caller,
    account: AccountStore,
    freedBytes: number,
  ): Promise<{ freedBytes: number; usedBytes: number }> {
    // The space is no longer counted at once; the pack files go in the background.
    void account.collectGarbage().catch(() => {});
    return { freedBytes, usedBytes: await this.#recordUsage(caller, account) };
  }
}
