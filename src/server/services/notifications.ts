/**
 * NotificationsService owns an account's notice settings (when a silent device is
 * noticed, how often it is reminded, when abandoned backups expire), its e-mail switch
 * and its webhooks, and delivers a notice through every channel at once: each channel
 * has its own deadline and bounded retries, and its outcome is recorded on it, so a
 * failing webhook neither blocks nor hides the e-mail. Webhook URLs are kept (they are
 * needed to send) but shown and audited only up to their host.
 */
import type {
  ChannelStatus,
  DeliveryResult,
  LifecycleSettings,
  NotificationSettings,
  Webhook,
  WebhookPreset,
} from '../../api/notifications.ts';
import { MAX_WEBHOOKS } from '../../api/notifications.ts';
import { CumulusError } from '../../core/errors.ts';
import type { Clock } from '../clock.ts';
import { iso } from '../clock.ts';
import type { Database } from '../db/database.ts';
import type { AddressGuard } from '../notify/address-guard.ts';
import type { Mailer } from '../notify/mailer.ts';
import { type Notice, wordsOf } from '../notify/notice.ts';
import { webhookRequest, webhookUrlProblem } from '../notify/presets.ts';
import { DeliveryError, withRetries } from '../notify/retry.ts';
import { postJson } from '../notify/webhook.ts';
import type { AccountsService } from './accounts.ts';
import type { AuditLog } from './audit.ts';
import type { Caller } from './caller.ts';
import { deviceActor } from './caller.ts';
import { newId } from './credentials.ts';

/**
 * DEFAULT_SETTINGS: told after 3 days (a daily backup missed three times is not a
 * laptop left shut over a weekend), reminded weekly, backups deleted after 180 days
 * without one, as iCloud does.
 */
export const DEFAULT_SETTINGS: LifecycleSettings = { silenceDays: 3, reminderDays: 7, expiryDays: 180 };

/** DeliveryPolicy bounds every outbound call: one attempt's deadline and the waits before each retry. */
export interface DeliveryPolicy {
  timeoutMs: number;
  retryDelaysMs: readonly number[];
}

export const DEFAULT_DELIVERY: DeliveryPolicy = { timeoutMs: 10_000, retryDelaysMs: [2_000, 10_000] };

interface SettingsRow {
  silence_days: number;
  reminder_days: number;
  expiry_days: number;
  email_enabled: number;
  email_attempt_at: number | null;
  email_ok: number | null;
  email_error: string | null;
}

interface WebhookRow {
  id: string;
  account_id: string;
  preset: WebhookPreset;
  url: string;
  created_at: number;
  attempt_at: number | null;
  ok: number | null;
  error: string | null;
}

/** maskedUrl shows a webhook up to its host: the path and query of a hook are often its secret. */
export function maskedUrl(url: string): string {
  const parsed = new URL(url);
  const hidden = parsed.pathname !== '/' || parsed.search !== '';
  return `${parsed.protocol}//${parsed.host}/${hidden ? '…' : ''}`;
}

function statusOf(attemptAt: number | null, ok: number | null, error: string | null): ChannelStatus {
  return { lastAttemptAt: iso(attemptAt), ok: ok === null ? null : ok === 1, error };
}

function toWebhook(row: WebhookRow): Webhook {
  return {
    id: row.id,
    preset: row.preset,
    target: maskedUrl(row.url),
    createdAt: iso(row.created_at),
    status: statusOf(row.attempt_at, row.ok, row.error),
  };
}

/** failureCode is what a failed delivery records: its code, never its message. */
function failureCode(error: unknown): string {
  return error instanceof DeliveryError ? error.code : 'failed';
}

export class NotificationsService {
  readonly #db: Database;
  readonly #clock: Clock;
  readonly #audit: AuditLog;
  readonly #accounts: AccountsService;
  readonly #mailer: Mailer | null;
  readonly #guard: AddressGuard;
  readonly #policy: DeliveryPolicy;

  constructor(deps: {
    db: Database;
    clock: Clock;
    audit: AuditLog;
    accounts: AccountsService;
    /** null when the admin configured no mail relay. */
    mailer: Mailer | null;
    guard: AddressGuard;
    policy?: DeliveryPolicy;
  }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
    this.#accounts = deps.accounts;
    this.#mailer = deps.mailer;
    this.#guard = deps.guard;
    this.#policy = deps.policy ?? DEFAULT_DELIVERY;
  }

  async #settingsRow(accountId: string): Promise<SettingsRow> {
    const row = await this.#db.get<SettingsRow>('SELECT * FROM notification_settings WHERE account_id = ?', [
      accountId,
    ]);
    return (
      row ?? {
        silence_days: DEFAULT_SETTINGS.silenceDays,
        reminder_days: DEFAULT_SETTINGS.reminderDays,
        expiry_days: DEFAULT_SETTINGS.expiryDays,
        email_enabled: 1,
        email_attempt_at: null,
        email_ok: null,
        email_error: null,
      }
    );
  }

  /** settingsOf is an account's lifecycle settings (the defaults until it changes one). */
  async settingsOf(accountId: string): Promise<LifecycleSettings> {
    const row = await this.#settingsRow(accountId);
    return { silenceDays: row.silence_days, reminderDays: row.reminder_days, expiryDays: row.expiry_days };
  }

  async get(caller: Caller): Promise<NotificationSettings> {
    const [row, account, webhooks] = await Promise.all([
      this.#settingsRow(caller.accountId),
      this.#accounts.record(caller.accountId),
      this.#webhookRows(caller.accountId),
    ]);
    return {
      settings: {
        silenceDays: row.silence_days,
        reminderDays: row.reminder_days,
        expiryDays: row.expiry_days,
      },
      email: {
        enabled: row.email_enabled === 1,
        available: this.#mailer !== null,
        address: account.email,
        status: statusOf(row.email_attempt_at, row.email_ok, row.email_error),
      },
      webhooks: webhooks.map(toWebhook),
    };
  }

  async update(
    caller: Caller,
    change: Partial<LifecycleSettings> & { email?: boolean },
  ): Promise<NotificationSettings> {
    const row = await this.#settingsRow(caller.accountId);
    const next = {
      silenceDays: change.silenceDays ?? row.silence_days,
      reminderDays: change.reminderDays ?? row.reminder_days,
      expiryDays: change.expiryDays ?? row.expiry_days,
      email: change.email ?? row.email_enabled === 1,
    };
    await this.#db.transaction(async (tx) => {
      await tx.run(
        `INSERT INTO notification_settings (account_id, silence_days, reminder_days, expiry_days, email_enabled)
         VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (account_id) DO UPDATE SET silence_days = excluded.silence_days,
           reminder_days = excluded.reminder_days, expiry_days = excluded.expiry_days,
           email_enabled = excluded.email_enabled`,
        [caller.accountId, next.silenceDays, next.reminderDays, next.expiryDays, next.email ? 1 : 0],
      );
      await this.#audit.record(
        {
          event: 'notifications_changed',
          accountId: caller.accountId,
          ...deviceActor(caller),
          details: next,
        },
        tx,
      );
    });
    return this.get(caller);
  }

  #webhookRows(accountId: string): Promise<WebhookRow[]> {
    return this.#db.all<WebhookRow>(
      'SELECT * FROM notification_webhooks WHERE account_id = ? ORDER BY created_at, id',
      [accountId],
    );
  }

  async addWebhook(caller: Caller, url: string, preset: WebhookPreset): Promise<Webhook> {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new CumulusError('invalid_input', 'that is not a URL', {
        hint: 'give the full https://… address',
      });
    }
    const problem =
      parsed.protocol === 'http:' || parsed.protocol === 'https:'
        ? webhookUrlProblem(preset, parsed)
        : 'a webhook is an http:// or https:// URL';
    if (problem) throw new CumulusError('invalid_input', `this webhook URL will not work: ${problem}`);
    if (this.#guard.refusesUpFront(parsed)) {
      throw new CumulusError('invalid_input', 'this server does not send webhooks to private addresses', {
        hint: 'use a public address, or ask the admin to allow this host (CUMULUS_WEBHOOK_PRIVATE_HOSTS)',
      });
    }
    const id = newId();
    await this.#db.transaction(async (tx) => {
      const count = await tx.get<{ n: number }>(
        'SELECT count(*) AS n FROM notification_webhooks WHERE account_id = ?',
        [caller.accountId],
      );
      if (count!.n >= MAX_WEBHOOKS) {
        throw new CumulusError('conflict', `an account has at most ${MAX_WEBHOOKS} webhooks`, {
          hint: 'remove one first: cumulus notifications remove-webhook ID',
        });
      }
      await tx.run(
        'INSERT INTO notification_webhooks (id, account_id, preset, url, created_at) VALUES (?, ?, ?, ?, ?)',
        [id, caller.accountId, preset, parsed.href, this.#clock.now()],
      );
      await this.#audit.record(
        {
          event: 'webhook_added',
          accountId: caller.accountId,
          ...deviceActor(caller),
          details: { webhookId: id, preset, target: maskedUrl(parsed.href) },
        },
        tx,
      );
    });
    const row = await this.#db.get<WebhookRow>('SELECT * FROM notification_webhooks WHERE id = ?', [id]);
    return toWebhook(row!);
  }

  async removeWebhook(caller: Caller, webhookId: string): Promise<void> {
    await this.#db.transaction(async (tx) => {
      const { changes } = await tx.run('DELETE FROM notification_webhooks WHERE id = ? AND account_id = ?', [
        webhookId,
        caller.accountId,
      ]);
      if (changes === 0) {
        throw new CumulusError('not_found', 'no such webhook in this account', {
          hint: 'list them with `cumulus notifications`',
        });
      }
      await this.#audit.record(
        {
          event: 'webhook_removed',
          accountId: caller.accountId,
          ...deviceActor(caller),
          details: { webhookId },
        },
        tx,
      );
    });
  }

  /** test sends a test notice through every channel of the caller's account. */
  test(caller: Caller): Promise<DeliveryResult[]> {
    return this.deliver(caller.accountId, { kind: 'test' });
  }

  /**
   * deliver sends a notice through every channel of the account at once and records each
   * outcome on its channel. It never throws for a channel's failure: the results say.
   */
  async deliver(accountId: string, notice: Notice): Promise<DeliveryResult[]> {
    const [row, webhooks] = await Promise.all([this.#settingsRow(accountId), this.#webhookRows(accountId)]);
    const sends: Promise<DeliveryResult>[] = webhooks.map((hook) => this.#sendWebhook(hook, notice));
    if (row.email_enabled === 1 && this.#mailer !== null) sends.unshift(this.#sendEmail(accountId, notice));
    return Promise.all(sends);
  }

  async #sendEmail(accountId: string, notice: Notice): Promise<DeliveryResult> {
    const { email } = await this.#accounts.record(accountId);
    const { title, message } = wordsOf(notice);
    const text = `${message}\n\n--\nCumulus sends this to the address of your account. Change what you are told with \`cumulus notifications\`.\n`;
    const mailer = this.#mailer!;
    const error = await this.#attempt(() => mailer.send({ to: email, subject: `Cumulus: ${title}`, text }));
    await this.#db.run(
      `INSERT INTO notification_settings (account_id, silence_days, reminder_days, expiry_days, email_enabled,
         email_attempt_at, email_ok, email_error) VALUES (?, ?, ?, ?, 1, ?, ?, ?)
       ON CONFLICT (account_id) DO UPDATE SET email_attempt_at = excluded.email_attempt_at,
         email_ok = excluded.email_ok, email_error = excluded.email_error`,
      [
        accountId,
        DEFAULT_SETTINGS.silenceDays,
        DEFAULT_SETTINGS.reminderDays,
        DEFAULT_SETTINGS.expiryDays,
        this.#clock.now(),
        error === null ? 1 : 0,
        error,
      ],
    );
    return { channel: 'email', target: email, ok: error === null, error };
  }

  async #sendWebhook(hook: WebhookRow, notice: Notice): Promise<DeliveryResult> {
    const { url, body } = webhookRequest(hook.preset, new URL(hook.url), notice);
    const error = await this.#attempt(() =>
      postJson(url, body, { guard: this.#guard, timeoutMs: this.#policy.timeoutMs }),
    );
    await this.#db.run('UPDATE notification_webhooks SET attempt_at = ?, ok = ?, error = ? WHERE id = ?', [
      this.#clock.now(),
      error === null ? 1 : 0,
      error,
      hook.id,
    ]);
    return { channel: hook.id, target: maskedUrl(hook.url), ok: error === null, error };
  }

  /** #attempt runs one channel's send with its retries and answers null, or the failure's code. */
  async #attempt(send: () => Promise<void>): Promise<string | null> {
    try {
      await withRetries(send, this.#policy.retryDelaysMs);
      return null;
    } catch (error) {
      return failureCode(error);
    }
  }
}
