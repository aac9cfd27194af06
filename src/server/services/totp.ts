/**
 * TotpService: an authenticator app as the second factor when no trusted device is at
 * hand. Enrolment needs the password and a first code; each code works once (the last
 * accepted time step is stored, so a code seen over a shoulder cannot be replayed).
 */
import * as OTPAuth from 'otpauth';
import { CumulusError } from '../../core/errors.ts';
import type { Clock } from '../clock.ts';
import type { Database } from '../db/database.ts';
import type { AccountRow, AccountsService } from './accounts.ts';
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
  readonly #clock: Clock;
  readonly #audit: AuditLog;
  readonly #accounts: AccountsService;
  readonly #guard: AttemptGuard;

  constructor(deps: {
    db: Database;
    clock: Clock;
    audit: AuditLog;
    accounts: AccountsService;
    guard: AttemptGuard;
  }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
    this.#accounts = deps.accounts;
    this.#guard = deps.guard;
  }

  /** begin makes a new secret for the app to scan; TOTP is on only once confirm sees a first code. */
  async begin(caller: Caller, authKey: string): Promise<{ secret: string; uri: string }> {
    const row = await this.#accounts.confirmPassword(caller, authKey);
    const secret = new OTPAuth.Secret({ size: 20 }).base32;
    await this.#db.run('UPDATE accounts SET totp_pending_secret = ? WHERE id = ?', [secret, row.id]);
    return { secret, uri: totpFor(secret, row.email).toString() };
  }

  async confirm(caller: Caller, code: string): Promise<void> {
    const row = await this.#accounts.row(caller.accountId);
    if (row.totp_pending_secret === null) {
      throw new CumulusError('conflict', 'no authenticator enrolment is in progress', {
        hint: 'start with `cumulus account totp enable`',
      });
    }
    const attempt = await this.#guard.begin('totp', row.id, caller.ip);
    const step = this.#acceptedStep(row.totp_pending_secret, row.email, code);
    if (step === undefined) {
      throw new CumulusError('unauthorized', 'the authenticator code is wrong', {
        hint: "check the phone's clock and type the current code",
      });
    }
    await attempt.succeeded();
    await this.#db.transaction(async (tx) => {
      await tx.run(
        'UPDATE accounts SET totp_secret = totp_pending_secret, totp_pending_secret = NULL, totp_last_step = ? WHERE id = ?',
        [step, row.id],
      );
      await this.#audit.record({ event: 'totp_enabled', accountId: row.id, ...deviceActor(caller) }, tx);
    });
  }

  async disable(caller: Caller, authKey: string): Promise<void> {
    const row = await this.#accounts.confirmPassword(caller, authKey);
    await this.#db.transaction(async (tx) => {
      await tx.run(
        'UPDATE accounts SET totp_secret = NULL, totp_pending_secret = NULL, totp_last_step = NULL WHERE id = ?',
        [row.id],
      );
      await this.#audit.record({ event: 'totp_disabled', accountId: row.id, ...deviceActor(caller) }, tx);
    });
  }

  /**
   * verify says whether a code from the account's app is valid now and not used before;
   * an accepted code's step is stored so it cannot be used twice.
   */
  async verify(row: AccountRow, code: string): Promise<boolean> {
    if (row.totp_secret === null) return false;
    const step = this.#acceptedStep(row.totp_secret, row.email, code);
    if (step === undefined) return false;
    const { changes } = await this.#db.run(
      'UPDATE accounts SET totp_last_step = ? WHERE id = ? AND (totp_last_step IS NULL OR totp_last_step < ?)',
      [step, row.id, step],
    );
    return changes === 1;
  }

  /** #acceptedStep returns the time step a code belongs to (one step of clock drift allowed), or undefined. */
  #acceptedStep(secret: string, label: string, code: string): number | undefined {
    const timestamp = this.#clock.now();
    const delta = totpFor(secret, label).validate({ token: code, timestamp, window: 1 });
    return delta === null ? undefined : Math.floor(timestamp / 1000 / PERIOD_S) + delta;
  }
}
