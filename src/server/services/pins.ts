/**
 * PinsService owns the `pins` table: snapshots an account keeps whatever retention says,
 * and devices whose backups never expire. Every call is scoped to the caller's account: a
 * snapshot or device of another account is not found. A pin of a snapshot that is gone
 * (deleted with its device or source) is dropped the next time the pins are read.
 */
import { CumulusError } from '../../core/errors.ts';
import type { Clock } from '../clock.ts';
import { iso } from '../clock.ts';
import type { Database } from '../db/database.ts';
import { type AccountRepositories, accountStoreOf } from './account-repositories.ts';
import type { Caller } from './caller.ts';
import type { DevicesService } from './devices.ts';

type PinKind = 'snapshot' | 'device';

export interface PinList {
  snapshots: { snapshotId: string; pinnedAt: string }[];
  devices: { deviceId: string; pinnedAt: string }[];
}

interface PinRow {
  kind: PinKind;
  target_id: string;
  pinned_at: number;
}

export class PinsService {
  readonly #db: Database;
  readonly #clock: Clock;
  readonly #repositories: AccountRepositories;
  readonly #devices: DevicesService;

  constructor(deps: {
    db: Database;
    clock: Clock;
    repositories: AccountRepositories;
    devices: DevicesService;
  }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#repositories = deps.repositories;
    this.#devices = deps.devices;
  }

  async pinSnapshot(caller: Caller, snapshotId: string): Promise<void> {
    await this.#requireSnapshot(caller.accountId, snapshotId);
    await this.#pin(caller.accountId, 'snapshot', snapshotId);
  }

  async unpinSnapshot(caller: Caller, snapshotId: string): Promise<void> {
    await this.#unpin(caller.accountId, 'snapshot', snapshotId, () =>
      this.#requireSnapshot(caller.accountId, snapshotId),
    );
  }

  async pinDevice(caller: Caller, deviceId: string): Promise<void> {
    await this.#devices.get(caller, deviceId);
    await this.#pin(caller.accountId, 'device', deviceId);
  }

  async unpinDevice(caller: Caller, deviceId: string): Promise<void> {
    await this.#unpin(caller.accountId, 'device', deviceId, async () => {
      await this.#devices.get(caller, deviceId);
    });
  }

  async list(caller: Caller): Promise<PinList> {
    const rows = await this.#rows(caller.accountId);
    const held = new Set(await this.pinnedSnapshots(caller.accountId));
    return {
      snapshots: rows
        .filter((r) => r.kind === 'snapshot' && held.has(r.target_id))
        .map((r) => ({ snapshotId: r.target_id, pinnedAt: iso(Number(r.pinned_at)) })),
      devices: rows
        .filter((r) => r.kind === 'device')
        .map((r) => ({ deviceId: r.target_id, pinnedAt: iso(Number(r.pinned_at)) })),
    };
  }

  /** pinnedSnapshots lists the account's pinned snapshots that still exist, and forgets the pins of the rest. */
  async pinnedSnapshots(accountId: string): Promise<Set<string>> {
    const pinned = (await this.#rows(accountId)).filter((r) => r.kind === 'snapshot').map((r) => r.target_id);
    if (pinned.length === 0) return new Set();
    const { store } = await accountStoreOf(this.#repositories, accountId);
    const existing = new Set((await store.listSnapshots()).map((s) => s.id));
    for (const id of pinned.filter((id) => !existing.has(id))) {
      await this.#db.run("DELETE FROM pins WHERE account_id = ? AND kind = 'snapshot' AND target_id = ?", [
        accountId,
        id,
      ]);
    }
    return new Set(pinned.filter((id) => existing.has(id)));
  }

  /** pinnedDevices lists the account's pinned devices (expiry leaves their backups alone). */
  async pinnedDevices(accountId: string): Promise<Set<string>> {
    return new Set((await this.#rows(accountId)).filter((r) => r.kind === 'device').map((r) => r.target_id));
  }

  /**
   * keepsDevice says whether a device's backups are kept from expiry: the device is pinned,
   * or one of its snapshots is (the lifecycle's Pins).
   */
  async keepsDevice(accountId: string, deviceId: string): Promise<boolean> {
    if ((await this.pinnedDevices(accountId)).has(deviceId)) return true;
    const pinned = await this.pinnedSnapshots(accountId);
    if (pinned.size === 0) return false;
    const { store } = await accountStoreOf(this.#repositories, accountId);
    return (await store.listSnapshots()).some((s) => s.device === deviceId && pinned.has(s.id));
  }

  async #rows(accountId: string): Promise<PinRow[]> {
    return this.#db.all<PinRow>(
      'SELECT kind, target_id, pinned_at FROM pins WHERE account_id = ? ORDER BY pinned_at, target_id',
      [accountId],
    );
  }

  async #pin(accountId: string, kind: PinKind, targetId: string): Promise<void> {
    await this.#db.run(
      'INSERT INTO pins (account_id, kind, target_id, pinned_at) VALUES (?, ?, ?, ?) ON CONFLICT (account_id, kind, target_id) DO NOTHING',
      [accountId, kind, targetId, this.#clock.now()],
    );
  }

  /** #unpin removes a pin; with none to remove, `exists` says whether the thing is there at all (else not found). */
  async #unpin(
    accountId: string,
    kind: PinKind,
    targetId: string,
    exists: () => Promise<void>,
  ): Promise<void> {
    const { changes } = await this.#db.run(
      'DELETE FROM pins WHERE account_id = ? AND kind = ? AND target_id = ?',
      [accountId, kind, targetId],
    );
    if (changes === 0) await exists();
  }

  async #requireSnapshot(accountId: string, snapshotId: string): Promise<void> {
    const { store } = await accountStoreOf(this.#repositories, accountId);
    if (!(await store.listSnapshots()).some((s) => s.id === snapshotId)) {
      throw new CumulusError(
        'snapshot_not_found',
        `no snapshot ${snapshotId.slice(0, 12)}… in this account`,
        {
          hint: 'list them with `cumulus snapshots`',
        },
      );
    }
  }
}
