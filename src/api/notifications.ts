/**
 * Notifications: how the server tells an account that one of its devices stopped backing
 * up, backed up again, or is about to have its abandoned backups deleted; by e-mail (to
 * the account's address, through the relay the admin configured) and by webhooks the
 * account adds. Also the devices that need attention now, for the console's banner and
 * `cumulus status`.
 */
import { type Static, Type } from 'typebox';
import { Id, Ok, OptionalTimestamp, Timestamp } from './common.ts';
import { Reason } from './devices.ts';
import { endpoint } from './endpoint.ts';

/** The webhook presets: each shapes the POST body as that service expects. */
export const WEBHOOK_PRESETS = ['json', 'ntfy', 'gotify', 'slack'] as const;
export const WebhookPreset = Type.Union([
  Type.Literal('json'),
  Type.Literal('ntfy'),
  Type.Literal('gotify'),
  Type.Literal('slack'),
]);
export type WebhookPreset = Static<typeof WebhookPreset>;

/** The smallest expiry that still leaves room for the notice 30 days before. */
export const MIN_EXPIRY_DAYS = 60;

export const LifecycleSettings = Type.Object({
  /** Days without a successful backup before the account is told (longer for a device whose usual cadence is longer). */
  silenceDays: Type.Integer({ minimum: 1, maximum: 90 }),
  /** Days between reminders while the device stays silent; 0: no reminders. */
  reminderDays: Type.Integer({ minimum: 0, maximum: 90 }),
  /** Days without a backup after which a device's backups are deleted; 0: never. */
  expiryDays: Type.Union([Type.Literal(0), Type.Integer({ minimum: MIN_EXPIRY_DAYS, maximum: 3650 })]),
});
export type LifecycleSettings = Static<typeof LifecycleSettings>;

/** ChannelStatus is how the last delivery (or test-send) through a channel went; `error` is a code, never a URL. */
export const ChannelStatus = Type.Object({
  lastAttemptAt: OptionalTimestamp,
  ok: Type.Union([Type.Boolean(), Type.Null()]),
  error: Type.Union([Type.String(), Type.Null()]),
});
export type ChannelStatus = Static<typeof ChannelStatus>;

export const EmailChannel = Type.Object({
  enabled: Type.Boolean(),
  /** False when the admin configured no mail relay: then no e-mail goes out. */
  available: Type.Boolean(),
  /** The account's address, where the notices go. */
  address: Type.String(),
  status: ChannelStatus,
});

export const Webhook = Type.Object({
  id: Id,
  preset: WebhookPreset,
  /** The URL with everything after the host hidden: a topic or token in it is a secret. */
  target: Type.String(),
  createdAt: Timestamp,
  status: ChannelStatus,
});
export type Webhook = Static<typeof Webhook>;

export const NotificationSettings = Type.Object({
  settings: LifecycleSettings,
  email: EmailChannel,
  webhooks: Type.Array(Webhook),
});
export type NotificationSettings = Static<typeof NotificationSettings>;

/** MAX_WEBHOOKS bounds an account's webhooks (every notice goes to each). */
export const MAX_WEBHOOKS = 10;

export const getNotifications = endpoint({
  method: 'GET',
  url: '/api/notifications',
  summary: "The account's notice settings, its e-mail channel and webhooks, each with its last delivery",
  tag: 'notifications',
  access: 'session',
  response: NotificationSettings,
});

export const updateNotifications = endpoint({
  method: 'PATCH',
  url: '/api/notifications',
  summary: 'Change when notices go out and when abandoned backups expire, or switch e-mail on or off',
  tag: 'notifications',
  access: 'session',
  body: Type.Object(
    {
      silenceDays: Type.Optional(LifecycleSettings.properties.silenceDays),
      reminderDays: Type.Optional(LifecycleSettings.properties.reminderDays),
      expiryDays: Type.Optional(LifecycleSettings.properties.expiryDays),
      email: Type.Optional(Type.Boolean()),
    },
    { additionalProperties: false, minProperties: 1 },
  ),
  response: NotificationSettings,
});

export const addWebhook = endpoint({
  method: 'POST',
  url: '/api/notifications/webhooks',
  summary: 'Add a webhook (http or https) that every notice is POSTed to, shaped by its preset',
  tag: 'notifications',
  access: 'session',
  body: Type.Object({
    url: Type.String({ minLength: 8, maxLength: 2048, pattern: '^https?://' }),
    preset: WebhookPreset,
  }),
  response: Webhook,
});

export const removeWebhook = endpoint({
  method: 'DELETE',
  url: '/api/notifications/webhooks/:webhookId',
  summary: 'Remove a webhook',
  tag: 'notifications',
  access: 'session',
  params: Type.Object({ webhookId: Id }),
  response: Ok,
});

export const DeliveryResult = Type.Object({
  /** 'email', or the webhook's ID. */
  channel: Type.String(),
  target: Type.String(),
  ok: Type.Boolean(),
  error: Type.Union([Type.String(), Type.Null()]),
});
export type DeliveryResult = Static<typeof DeliveryResult>;

export const testNotifications = endpoint({
  method: 'POST',
  url: '/api/notifications/test',
  summary: 'Send a test notice through every channel of the account and say how each went',
  tag: 'notifications',
  access: 'session',
  response: Type.Object({ results: Type.Array(DeliveryResult) }),
});

/** DeviceAlert is a device that needs attention: silent past the account's threshold, or with backups due to expire. */
export const DeviceAlert = Type.Object({
  deviceId: Id,
  name: Type.String(),
  /** The device asking. */
  current: Type.Boolean(),
  lastBackupAt: Timestamp,
  /** Whole days since the last successful backup. */
  silentDays: Type.Integer({ minimum: 0 }),
  /** Why, as far as the server knows: the device's last reason, plus `no-report` or `signed-out`. */
  reason: Reason,
  /** When its backups will be deleted if it does not back up; null when they will not be. */
  deletesAt: OptionalTimestamp,
});
export type DeviceAlert = Static<typeof DeviceAlert>;

export const listAlerts = endpoint({
  method: 'GET',
  url: '/api/notifications/alerts',
  summary: "The account's devices that have not backed up for longer than the account's threshold",
  tag: 'notifications',
  access: 'session',
  response: Type.Object({ alerts: Type.Array(DeviceAlert) }),
});
