/**
 * PlansService: the storage plans an admin configures, each account's plan and its usage
 * against the quota, self-service plan changes, and the 80/90/100% warnings.
 */
import { type Plan, type PlanStatus, WARNING_LEVELS } from '../../api/plans.ts';
import { CumulusError } from '../../core/errors.ts';
import type { Clock } from '../clock.ts';
import { iso } from '../clock.ts';
import type { Database } from '../db/database.ts';
import type { AccountRecords } from './account-records.ts';
import type { AccountRepositories } from './account-repositories.ts';
import type { AuditLog } from './audit.ts';
import type { Actor, Caller } from './caller.ts';
import { deviceActor } from './caller.ts';

const GB = 1000 ** 3;

/**
 * DEFAULT_PLANS are created on a new server: Free 5 GB, then 50 GB, 200 GB and 2 TB. Only
 * Free is self-service (`offered`): the larger ones take the admin's disk, so the admin
 * assigns them (`cumulus server user set-plan`) or offers them (`server plan put`).
 */
export const DEFAULT_PLANS: readonly Plan[] = [
  { id: 'free', name: 'Free', quotaBytes: 5 * GB, isDefault: true, offered: true },
  { id: '50gb', name: '50 GB', quotaBytes: 50 * GB, isDefault: false, offered: false },
  { id: '200gb', name: '200 GB', quotaBytes: 200 * GB, isDefault: false, offered: false },
  { id: '2tb', name: '2 TB', quotaBytes: 2000 * GB, isDefault: false, offered: false },
];

interface PlanRow {
  id: string;
  name: string;
  quota_bytes: number;
  offered: number;
  is_default: number;
}

function toPlan(row: PlanRow): Plan {
  return {
    id: row.id,
    name: row.name,
    quotaBytes: row.quota_bytes,
    offered: row.offered === 1,
    isDefault: row.is_default === 1,
  };
}

/** warningLevel is the highest of 80, 90, 100 that usage reaches, or 0. */
export function warningLevel(usedBytes: number, quotaBytes: number): number {
  const percent = quotaBytes === 0 ? (usedBytes > 0 ? 100 : 0) : (usedBytes / quotaBytes) * 100;
  return WARNING_LEVELS.filter((level) => percent >= level).at(-1) ?? 0;
}

function formatGb(bytes: number): string {
  return `${(bytes / GB).toFixed(bytes % GB === 0 ? 0 : 2)} GB`;
}

export class PlansService {
  readonly #db: Database;
  readonly #records: AccountRecords;
  readonly #clock: Clock;
  readonly #audit: AuditLog;
  readonly #repositories: AccountRepositories;

  constructor(
    db: Database,
    records: AccountRecords,
    clock: Clock,
    audit: AuditLog,
    repositories: AccountRepositories,
  ) {
    this.#db = db;
    this.#records = records;
    this.#clock = clock;
    this.#audit = audit;
    this.#repositories = repositories;
  }

  /** ensureDefaults creates the default plans on a server that has none. */
  async ensureDefaults(): Promise<void> {
    await this.#db.transaction(async (tx) => {
      const existing = await tx.get<{ n: number }>('SELECT count(*) AS n FROM plans');
      if (existing!.n > 0) return;
      for (const plan of DEFAULT_PLANS) {
        await tx.run(
          'INSERT INTO plans (id, name, quota_bytes, offered, is_default, created_at) VALUES (?, ?, ?, ?, ?, ?)',
          [
            plan.id,
            plan.name,
            plan.quotaBytes,
            plan.offered ? 1 : 0,
            plan.isDefault ? 1 : 0,
            this.#clock.now(),
          ],
        );
      }
    });
  }

  async list(options: { offeredOnly: boolean }): Promise<Plan[]> {
    const rows = await this.#db.all<PlanRow>(
      `SELECT * FROM plans ${options.offeredOnly ? 'WHERE offered = 1' : ''} ORDER BY quota_bytes, id`,
    );
    return rows.map(toPlan);
  }

  /** get returns a plan; with offeredOnly, a plan the admin does not offer counts as missing. */
  async get(id: string, options: { offeredOnly: boolean } = { offeredOnly: false }): Promise<Plan> {
    const row = await this.#db.get<PlanRow>('SELECT * FROM plans WHERE id = ?', [id]);
    if (!row || (options.offeredOnly && row.offered !== 1)) {
      throw new CumulusError('not_found', `there is no plan "${id}"`, {
        hint: 'list the plans with `cumulus plan show`',
      });
    }
    return toPlan(row);
  }

  async defaultPlan(): Promise<Plan> {
    const row = await this.#db.get<PlanRow>('SELECT * FROM plans WHERE is_default = 1 ORDER BY id LIMIT 1');
    if (!row)
      throw new CumulusError('not_found', 'no default plan is configured', {
        hint: 'an admin must mark one plan as default',
      });
    return toPlan(row);
  }

  /** put creates or changes a plan; making it the default unmarks the previous default. */
  async put(
    actor: Actor,
    id: string,
    fields: Omit<Plan, 'id' | 'isDefault'> & { isDefault?: boolean },
  ): Promise<Plan> {
    await this.#db.transaction(async (tx) => {
      if (fields.isDefault) await tx.run('UPDATE plans SET is_default = 0 WHERE id <> ?', [id]);
      await tx.run(
        `INSERT INTO plans (id, name, quota_bytes, offered, is_default, created_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, quota_bytes = excluded.quota_bytes,
           offered = excluded.offered, is_default = CASE WHEN ? IS NULL THEN plans.is_default ELSE excluded.is_default END`,
        [
          id,
          fields.name,
          fields.quotaBytes,
          fields.offered ? 1 : 0,
          fields.isDefault ? 1 : 0,
          this.#clock.now(),
          fields.isDefault === undefined ? null : 1,
        ],
      );
      await this.#audit.record({ event: 'plan_saved', ...actor, details: { planId: id, ...fields } }, tx);
    });
    return this.get(id);
  }

  /**
   * status returns the account's plan, usage and warnings, recording a new warning when
   * usage has climbed to another level. The repository API calls recordUsage after each
   * commit and deletion too.
   */
  async status(accountId: string): Promise<PlanStatus> {
    const usedBytes = await (await this.#repositories.forAccount(accountId)).usedBytes();
    const plan = await this.planOf(accountId);
    await this.recordUsage(accountId, usedBytes, plan.quotaBytes);
    const warnings = await this.#db.all<{
      level: number;
      used_bytes: number;
      quota_bytes: number;
      created_at: number;
    }>(
      'SELECT level, used_bytes, quota_bytes, created_at FROM usage_warnings WHERE account_id = ? ORDER BY id DESC LIMIT 20',
      [accountId],
    );
    return {
      plan,
      usedBytes,
      quotaBytes: plan.quotaBytes,
      warningLevel: warningLevel(usedBytes, plan.quotaBytes),
      warnings: warnings.map((w) => ({
        level: w.level,
        usedBytes: w.used_bytes,
        quotaBytes: w.quota_bytes,
        at: iso(w.created_at),
      })),
    };
  }

  /**
   * recordUsage stores the account's warning level and records a warning when the level
   * rose (80 → 90 → 100). Falling back below a level re-arms it.
   */
  async recordUsage(accountId: string, usedBytes: number, quotaBytes: number): Promise<void> {
    const level = warningLevel(usedBytes, quotaBytes);
    // Most calls (every commit) leave the level as it is: one read, not a server-wide transaction.
    const current = await this.#records.warningLevel(this.#db, accountId);
    if (current === undefined || current === level) return;
    await this.#db.transaction(async (tx) => {
      const before = await this.#records.warningLevel(tx, accountId);
      if (before === undefined || before === level) return;
      await this.#records.setWarningLevel(tx, accountId, level);
      if (level > before) {
        await tx.run(
          'INSERT INTO usage_warnings (account_id, level, used_bytes, quota_bytes, created_at) VALUES (?, ?, ?, ?, ?)',
          [accountId, level, usedBytes, quotaBytes, this.#clock.now()],
        );
      }
    });
  }

  /** change switches the caller's account to an offered plan, refusing one its usage does not fit in. */
  async change(caller: Caller, planId: string): Promise<PlanStatus> {
    const plan = await this.get(planId, { offeredOnly: true });
    const usedBytes = await (await this.#repositories.forAccount(caller.accountId)).usedBytes();
    if (usedBytes > plan.quotaBytes) {
      const shortfall = usedBytes - plan.quotaBytes;
      throw new CumulusError(
        'conflict',
        `the ${plan.name} plan holds ${formatGb(plan.quotaBytes)} but this account uses ${formatGb(usedBytes)}`,
        {
          hint: `free at least ${formatGb(shortfall)} first (cumulus storage), or choose a larger plan`,
          details: { usedBytes, quotaBytes: plan.quotaBytes, shortfallBytes: shortfall },
        },
      );
    }
    await this.#assign(deviceActor(caller), caller.accountId, plan);
    return this.status(caller.accountId);
  }

  /** assign sets any plan, offered or not, whatever the usage: the admin's override. */
  async assign(actor: Actor, accountId: string, planId: string): Promise<void> {
    await this.#assign(actor, accountId, await this.get(planId));
    await this.status(accountId);
  }

  async #assign(actor: Actor, accountId: string, plan: Plan): Promise<void> {
    await this.#db.transaction(async (tx) => {
      const before = await this.#records.planIdOf(tx, accountId);
      if (before === undefined) throw new CumulusError('not_found', 'no such account');
      await this.#records.setPlan(tx, accountId, plan.id);
      await this.#audit.record(
        { event: 'plan_changed', accountId, ...actor, details: { from: before, to: plan.id } },
        tx,
      );
    });
  }

  /** planOf returns the account's plan: its quota is what uploads and commits are checked against. */
  async planOf(accountId: string): Promise<Plan> {
    // One statement: it runs on every upload and commit.
    const row = await this.#db.get<PlanRow>(
      'SELECT * FROM plans WHERE id = (SELECT plan_id FROM accounts WHERE id = ?)',
      [accountId],
    );
    if (!row) throw new CumulusError('not_found', 'no such account');
    return toPlan(row);
  }
}
