/**
 * TotpService: an authenticator app as the second factor when no trusted device is at
 * hand. Enrolment needs the password and a first code; each code works once (the last
 * accepted time step is stored, so a code seen over a shoulder cannot be replayed).
 */
import * as OTPAuth from 'otpauth';
import { CumulusError } from '../../core/errors.ts';
import type { Clock } from '../clock.ts';
import type { Database } from '../db/database.ts';
import type { AccountRecord, AccountRecords } from './account-records.ts';
import type { AccountsService } from './accounts.ts';
import type { AuditLog } from './audit.ts';
import type { Caller } from './caller.ts';
import { deviceActor } from './caller.ts';
import type { AttemptGuard } from './throttle.ts';

const PERIOD_S = 30;

function totpFor(secret: string, label: string): OTPAuth.TOTP {
  return new OTPAuth.TOTP({
    issuer: 'Cumulus',
    label,
    algorithm: 'SHA1',
    digits: 6,
    period: PERIOD_S,
    secret,
  });
}

export class TotpService {
  readonly #db: Database;
  readonly #records: AccountRecords;
  readonly #clock: Clock;
  readonly #audit: AuditLog;
  readonly #accounts: AccountsService;
  readonly #guard: AttemptGuard;

  constructor(deps: {
    db: Database;
    records: AccountRecords;
    clock: Clock;
    audit: AuditLog;
    accounts: AccountsService;
    guard: AttemptGuard;
  }) {
    this.#db = deps.db;
    this.#records = deps.records;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
    this.#accounts = deps.accounts;
    this.#guard = deps.guard;
  }

  /** begin makes a new secret for the app to scan; TOTP is on only once confirm sees a first code. */
  async begin(caller: Caller, authKey: string): Promise<{ secret: string; uri: string }> {
    const account = await this.#accounts.confirmPassword(caller, authKey);
    const secret = new OTPAuth.Secret({ size: 20 }).base32;
    await this.#records.setPendingTotp(account.id, secret);
    return { secret, uri: totpFor(secret, account.email).toString() };
  }

  async confirm(caller: Caller, code: string): Promise<void> {
    const account = await this.#accounts.record(caller.accountId);
    if (account.totpPendingSecret === null) {
      throw new CumulusError('conflict', 'no authenticator enrolment is in progress', {
        hint: 'start with `cumulus account totp enable`',
      });
    }
    const attempt = await this.#guard.begin('totp', account.id, caller.ip);
    const step = this.#acceptedStep(account.totpPendingSecret, account.email, code);
    if (step === undefined) {
      throw new CumulusError('unauthorized', 'the authenticator code is wrong', {
        hint: "check the phone's clock and type the current code",
      });
    }
    await attempt.succeeded();
    await this.#db.transaction(async (tx) => {
      await this.#records.confirmTotp(tx, account.id, step);
      await this.#audit.record({ event: 'totp_enabled', accountId: account.id, ...deviceActor(caller) }, tx);
    });
  }

  async disable(caller: Caller, authKey: string): Promise<void> {
    const account = await this.#accounts.confirmPassword(caller, authKey);
    await this.#db.transaction(async (tx) => {
      await this.#records.clearTotp(tx, account.id);
      await this.#audit.record({ event: 'totp_disabled', accountId: account.id, ...deviceActor(caller) }, tx);
    });
  }

  /**
   * verify says whether a code from the account's app is valid now and not used before;
   * an accepted code's step is stored so it cannot be used twice.
   */
  async verify(account: AccountRecord, code: string): Promise<boolean> {
    if (account.totpSecret === null) return false;
    const step = this.#acceptedStep(account.totpSecret, account.email, code);
    if (step === undefined) return false;
    return this.#records.advanceTotpStep(account.id, step);
  }

  /** #acceptedStep returns the time step a code belongs to (one step of clock drift allowed), or undefined. */
  #acceptedStep(secret: string, label: string, code: string): number | undefined {
    const timestamp = this.#clock.now();
    const delta = totpFor(secret, label).validate({ token: code, timestamp, window: 1 });
    return delta === null ? undefined : Math.floor(timestamp / 1000 / PERIOD_S) + delta;
  }
}
