/**
 * RetentionService owns `retention_policies` and applies them without a key: the server
 * knows each snapshot's time and device, which is all the tiered policy
 * (core/tiered-retention.ts) reads. A policy is the account's default (device '') or a
 * device's override; with neither, DEFAULT_POLICY. It runs after each commit (in the
 * background, one pass per account at a time, never delaying the commit's answer) and as
 * the scheduler's daily 'retention' job; garbage collection follows a pass that removed
 * anything. Pinned snapshots are kept.
 */
import type { RetentionSettings } from '../../api/lifecycle.ts';
import { CumulusError } from '../../core/errors.ts';
import { DEFAULT_POLICY, policyProblem, selectKept, type TieredPolicy } from '../../core/tiered-retention.ts';
import type { Clock } from '../clock.ts';
import type { Database } from '../db/database.ts';
import { type AccountRepositories, accountStoreOf } from './account-repositories.ts';
import type { Caller } from './caller.ts';
import type { DevicesService } from './devices.ts';
import type { PinsService } from './pins.ts';
import type { PlansService } from './plans.ts';

/** A stored or effective policy: null is "off", every snapshot kept. */
export type PolicySetting = TieredPolicy | null;

/** PolicyChange is what a caller asks: a policy, 'off', or back to the 'default' above it. */
export type PolicyChange = TieredPolicy | 'off' | 'default';

export interface RetentionPass {
  devices: number;
  snapshotsRemoved: number;
  freedBytes: number;
}

/** DEFAULT_RETENTION_EVERY_MS: the scheduled pass catches devices that stopped committing (their snapshots still age). */
export const DEFAULT_RETENTION_EVERY_MS = 24 * 3_600_000;

const ACCOUNT_DEFAULT = '';

function parsePolicy(text: string): PolicySetting {
  const value = JSON.parse(text) as TieredPolicy | { off: true };
  return 'off' in value ? null : value;
}

export class RetentionService {
  readonly #db: Database;
  readonly #clock: Clock;
  readonly #repositories: AccountRepositories;
  readonly #devices: DevicesService;
  readonly #pins: PinsService;
  readonly #plans: PlansService;
  /** One pass per account at a time: the pass under way, or the last one. */
  readonly #passes = new Map<string, Promise<RetentionPass>>();

  constructor(deps: {
    db: Database;
    clock: Clock;
    repositories: AccountRepositories;
    devices: DevicesService;
    pins: PinsService;
    plans: PlansService;
  }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#repositories = deps.repositories;
    this.#devices = deps.devices;
    this.#pins = deps.pins;
    this.#plans = deps.plans;
  }

  async settings(caller: Caller): Promise<RetentionSettings> {
    const stored = await this.#stored(caller.accountId);
    const own = stored.get(ACCOUNT_DEFAULT);
    const account = own === undefined ? DEFAULT_POLICY : own;
    const live = new Set((await this.#devices.list(caller)).map((d) => d.id));
    return {
      account,
      accountIsServerDefault: own === undefined,
      devices: [...stored]
        .filter(([deviceId]) => deviceId !== ACCOUNT_DEFAULT && live.has(deviceId))
        .map(([deviceId, policy]) => ({ deviceId, policy })),
    };
  }

  /** set changes the account's policy, or a device's of the account; the next pass applies it. */
  async set(caller: Caller, change: { deviceId?: string; policy: PolicyChange }): Promise<RetentionSettings> {
    if (change.deviceId !== undefined) await this.#devices.get(caller, change.deviceId);
    const key = change.deviceId ?? ACCOUNT_DEFAULT;
    if (change.policy === 'default') {
      await this.#db.run('DELETE FROM retention_policies WHERE account_id = ? AND device_id = ?', [
        caller.accountId,
        key,
      ]);
    } else {
      const problem = change.policy === 'off' ? undefined : policyProblem(change.policy);
      if (problem !== undefined) throw new CumulusError('invalid_input', problem);
      const stored = change.policy === 'off' ? { off: true } : change.policy;
      await this.#db.run(
        `INSERT INTO retention_policies (account_id, device_id, policy, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (account_id, device_id) DO UPDATE SET policy = excluded.policy, updated_at = excluded.updated_at`,
        [caller.accountId, key, JSON.stringify(stored), this.#clock.now()],
      );
    }
    this.afterCommit(caller.accountId);
    return this.settings(caller);
  }

  /** policiesOf returns a function giving each device's effective policy. */
  async policiesOf(accountId: string): Promise<(deviceId: string) => PolicySetting> {
    const stored = await this.#stored(accountId);
    const account = stored.has(ACCOUNT_DEFAULT) ? (stored.get(ACCOUNT_DEFAULT) ?? null) : DEFAULT_POLICY;
    return (deviceId) => (stored.has(deviceId) ? (stored.get(deviceId) ?? null) : account);
  }

  async #stored(accountId: string): Promise<Map<string, PolicySetting>> {
    const rows = await this.#db.all<{ device_id: string; policy: string }>(
      'SELECT device_id, policy FROM retention_policies WHERE account_id = ?',
      [accountId],
    );
    return new Map(rows.map((row) => [row.device_id, parsePolicy(row.policy)]));
  }

  /** afterCommit thins the account in the background, after any pass under way; its failure waits for the schedule. */
  afterCommit(accountId: string): void {
    void this.apply(accountId).catch(() => {});
  }

  /** apply runs one pass over the account (after the one under way), then collects garbage if it removed anything. */
  apply(accountId: string): Promise<RetentionPass> {
    const previous = this.#passes.get(accountId) ?? Promise.resolve(undefined);
    const pass = previous.catch(() => undefined).then(() => this.#pass(accountId));
    this.#passes.set(accountId, pass);
    const forget = () => {
      if (this.#passes.get(accountId) === pass) this.#passes.delete(accountId);
    };
    pass.then(forget, forget);
    return pass;
  }

  async #pass(accountId: string): Promise<RetentionPass> {
    const account = await accountStoreOf(this.#repositories, accountId);
    const snapshots = await account.store.listSnapshots();
    const policyOf = await this.policiesOf(accountId);
    const pinned = await this.#pins.pinnedSnapshots(accountId);
    const now = this.#clock.now();
    const byDevice = Map.groupBy(snapshots, (s) => s.device);
    const remove: string[] = [];
    for (const [device, own] of byDevice) {
      const policy = policyOf(device);
      if (policy === null) continue;
      const dated = own
        .map((s) => ({ id: s.id, time: Date.parse(s.time) }))
        .filter((s) => !Number.isNaN(s.time));
      remove.push(...selectKept(dated, policy, now, pinned).remove.map((s) => s.id));
    }
    if (remove.length === 0) return { devices: byDevice.size, snapshotsRemoved: 0, freedBytes: 0 };
    const freedBytes = await account.store.forgetSnapshots(remove);
    const plan = await this.#plans.planOf(accountId);
    await this.#plans.recordUsage(accountId, await account.usedBytes(), plan.quotaBytes);
    await account.collectGarbage();
    return { devices: byDevice.size, snapshotsRemoved: remove.length, freedBytes };
  }

  /** applyAll is the scheduled job: one pass over every account, one account after another. */
  async applyAll(): Promise<RetentionPass & { accounts: number }> {
    const total = { accounts: 0, devices: 0, snapshotsRemoved: 0, freedBytes: 0 };
    for (const accountId of await this.#repositories.accountIds()) {
      const pass = await this.apply(accountId);
      total.accounts++;
      total.devices += pass.devices;
      total.snapshotsRemoved += pass.snapshotsRemoved;
      total.freedBytes += pass.freedBytes;
    }
    return total;
  }
}
