/** AdminService: what an admin does to users — list, disable, enable, set a plan (new users come by invite: invites.ts). */
import type { AdminUser } from '../../api/admin.ts';
import type { Database } from '../db/database.ts';
import type { AccountsService } from './accounts.ts';
import type { ApprovalsService } from './approvals.ts';
import type { Actor } from './caller.ts';
import type { PlansService } from './plans.ts';
import type { SessionsService } from './sessions.ts';

export class AdminService {
  readonly #db: Database;
  readonly #accounts: AccountsService;
  readonly #sessions: SessionsService;
  readonly #plans: PlansService;
  readonly #approvals: ApprovalsService;

  constructor(deps: {
    db: Database;
    accounts: AccountsService;
    sessions: SessionsService;
    plans: PlansService;
    approvals: ApprovalsService;
  }) {
    this.#db = deps.db;
    this.#approvals = deps.approvals;
    this.#accounts = deps.accounts;
    this.#sessions = deps.sessions;
    this.#plans = deps.plans;
  }

  listUsers(): Promise<AdminUser[]> {
    return this.#accounts.adminView();
  }

  async user(accountId: string): Promise<AdminUser> {
    return (await this.#accounts.adminView(accountId))[0];
  }

  /**
   * disable refuses the account's sign-ins, ends the pending ones and its sessions; its
   * data stays. Enabling it again brings none of them back: its devices sign in anew.
   */
  async disable(actor: Actor, accountId: string): Promise<AdminUser> {
    await this.#accounts.setDisabled(actor, accountId, true);
    await this.#db.transaction(async (tx) => {
      await this.#sessions.revokeWhere(tx, { accountId });
      await this.#approvals.endAll(tx, accountId);
    });
    return this.user(accountId);
  }

  async enable(actor: Actor, accountId: string): Promise<AdminUser> {
    await this.#accounts.setDisabled(actor, accountId, false);
    return this.user(accountId);
  }

  async setPlan(actor: Actor, accountId: string, planId: string): Promise<AdminUser> {
    await this.#plans.assign(actor, accountId, planId);
    return this.user(accountId);
  }
}
