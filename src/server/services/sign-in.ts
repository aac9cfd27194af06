/**
 * SignInService: how a device becomes trusted. The password (as an auth key) is checked
 * first. The very first device of an account — before any account key exists — is trusted
 * on the password alone and must create the keys. Any later device waits as a pending
 * sign-in until it proves a second factor: the code a trusted device shows, a TOTP code,
 * or the recovery key. Then it is registered, gets a session and the sealed account key.
 */
import type { ApprovalMethod, ApprovalRequired, DeviceInfo, SignedIn } from '../../api/auth.ts';
import { iso } from '../clock.ts';
import type { Database } from '../db/database.ts';
import type { AccountRecord } from './account-records.ts';
import type { AccountsService } from './accounts.ts';
import type { ApprovalsService, PendingSignIn } from './approvals.ts';
import type { AuditLog } from './audit.ts';
import type { DevicesService } from './devices.ts';
import type { SessionsService } from './sessions.ts';
import type { AttemptGuard, AttemptKind } from './throttle.ts';
import type { TotpService } from './totp.ts';

export class SignInService {
  readonly #db: Database;
  readonly #audit: AuditLog;
  readonly #accounts: AccountsService;
  readonly #approvals: ApprovalsService;
  readonly #devices: DevicesService;
  readonly #sessions: SessionsService;
  readonly #totp: TotpService;
  readonly #guard: AttemptGuard;

  constructor(deps: {
    db: Database;
    audit: AuditLog;
    accounts: AccountsService;
    approvals: ApprovalsService;
    devices: DevicesService;
    sessions: SessionsService;
    totp: TotpService;
    guard: AttemptGuard;
  }) {
    this.#db = deps.db;
    this.#audit = deps.audit;
    this.#accounts = deps.accounts;
    this.#approvals = deps.approvals;
    this.#devices = deps.devices;
    this.#sessions = deps.sessions;
    this.#totp = deps.totp;
    this.#guard = deps.guard;
  }

  async login(
    input: { email: string; authKey: string; device: DeviceInfo },
    ip: string,
  ): Promise<SignedIn | ApprovalRequired> {
    const account = await this.#accounts.signInWithPassword(input.email, input.authKey, ip);
    if (account.wrappedKey === null) return this.#trust(account, input.device, ip, { method: 'password' });
    const { token, expiresAt } = await this.#approvals.create(account.id, input.device, ip);
    return {
      status: 'approval_required',
      signInToken: token,
      expiresAt: iso(expiresAt),
      methods: await this.#methods(account),
    };
  }

  async #methods(account: AccountRecord): Promise<ApprovalMethod[]> {
    const methods: ApprovalMethod[] = [];
    if (await this.#sessions.hasLiveSession(account.id)) methods.push('code');
    if (account.totpSecret !== null) methods.push('totp');
    if (account.recoveryHash !== null) methods.push('recovery');
    return methods;
  }

  completeWithCode(input: { signInToken: string; code: string }, ip: string): Promise<SignedIn> {
    return this.#complete(input.signInToken, ip, 'code', 'verification code', async (pending) =>
      this.#approvals.codeMatches(pending, input.code),
    );
  }

  completeWithTotp(input: { signInToken: string; code: string }, ip: string): Promise<SignedIn> {
    return this.#complete(input.signInToken, ip, 'totp', 'authenticator code', async (_, account) =>
      this.#totp.verify(account, input.code),
    );
  }

  completeWithRecoveryKey(
    input: { signInToken: string; recoveryAuthKey: string },
    ip: string,
  ): Promise<SignedIn> {
    return this.#complete(input.signInToken, ip, 'recovery', 'recovery key', async (_, account) =>
      this.#accounts.recoveryKeyMatches(account, input.recoveryAuthKey),
    );
  }

  /** #complete checks one second factor for a pending sign-in, with delays and an attempt limit on failures. */
  async #complete(
    signInToken: string,
    ip: string,
    kind: AttemptKind,
    what: string,
    proves: (pending: PendingSignIn, account: AccountRecord) => Promise<boolean>,
  ): Promise<SignedIn> {
    const pending = await this.#approvals.open(signInToken);
    const attempt = await this.#guard.begin(kind, pending.account_id, ip);
    const account = await this.#accounts.record(pending.account_id);
    if (!(await proves(pending, account))) throw await this.#approvals.failedAttempt(pending, what, ip);
    await attempt.succeeded();
    const device = {
      name: pending.device_name,
      platform: pending.platform,
      agentVersion: pending.agent_version,
    };
    return this.#trust(account, device, ip, { method: kind, pending });
  }

  /** #trust registers the device and opens its session in one transaction, and hands over the sealed keys. */
  async #trust(
    account: AccountRecord,
    device: DeviceInfo,
    ip: string,
    how: { method: 'password' | AttemptKind; pending?: PendingSignIn },
  ): Promise<SignedIn> {
    const { deviceId, token } = await this.#db.transaction(async (tx) => {
      // Checked again here, where it cannot change before the session exists: an account
      // disabled while its sign-in was pending gets no device, session or key.
      await this.#accounts.requireEnabled(tx, account.id);
      if (how.pending) await this.#approvals.complete(tx, how.pending);
      const deviceId = await this.#devices.register(tx, account.id, device);
      const token = await this.#sessions.create(tx, account.id, deviceId, ip);
      await this.#audit.record(
        {
          event: 'signed_in',
          accountId: account.id,
          actor: `device:${deviceId}`,
          ip,
          details: { method: how.method, device: device.name },
        },
        tx,
      );
      return { deviceId, token };
    });
    return {
      status: 'signed_in',
      session: { token, accountId: account.id, deviceId },
      keys: this.#accounts.keysOf(account, { withRecovery: how.method === 'recovery' }),
    };
  }
}
