/**
 * ServerConfig is everything the server reads from its flags and environment, parsed once
 * (flags win over the environment, which wins over the defaults).
 */
import { resolve } from 'node:path';
import { CumulusError } from '../core/errors.ts';
import { s3Settings } from '../store/s3-client.ts';
import { type ConnectionLimits, DEFAULT_CONNECTION_LIMITS } from './http/connections.ts';
import type { SmtpSettings } from './notify/mailer.ts';
import type { BlobStoreConfig } from './services/blob-stores.ts';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface ServerConfig {
  /** Folder of server.sqlite and accounts/<accountId>/ (absolute). */
  dataDir: string;
  /**
   * CUMULUS_DATABASE_URL: a `postgres://` URL moves the server database and every
   * account's repository metadata into PostgreSQL; without it both are SQLite files in dataDir.
   */
  databaseUrl?: string;
  /** Where account packs live: the data folder, or an S3 bucket (CUMULUS_BLOB_STORE=s3://bucket/prefix). */
  blobStore: BlobStoreConfig;
  host: string;
  port: number;
  /** HTTPS certificate and key files; without them the server speaks plain HTTP (put a TLS proxy in front). */
  tls?: { certFile: string; keyFile: string };
  /** Trust X-Forwarded-For/Proto from a reverse proxy: true for any, or a comma-separated list of proxy addresses. */
  trustProxy: boolean | string;
  logLevel: LogLevel;
  rateLimit: RateLimits;
  bodyLimit: number;
  connections: ConnectionLimits;
  notifications: NotificationConfig;
}

/** NotificationConfig is how notices leave the server: the mail relay, and the private hosts webhooks may reach. */
export interface NotificationConfig {
  /** Without it no e-mail goes out (webhooks still do). */
  smtp?: SmtpSettings;
  /** Host names or addresses a webhook may reach although they are private (by default none is). */
  webhookPrivateHosts: string[];
}

/**
 * RateLimits are requests per minute: `perMinute` per address for requests without a
 * signed-in device (public routes), `sessionPerMinute` per signed-in device (its
 * session), whatever address it comes from, and `secretPerMinute` per address on the
 * routes that check a secret (sign-in, codes, recovery).
 */
export interface RateLimits {
  perMinute: number;
  sessionPerMinute: number;
  secretPerMinute: number;
}

/** ServerFlags are the command-line options of `cumulus server`. */
export interface ServerFlags {
  data?: string;
  host?: string;
  port?: string;
  tlsCert?: string;
  tlsKey?: string;
  trustProxy?: boolean | string;
  logLevel?: string;
}

export const DEFAULTS = {
  dataDir: './data',
  host: '127.0.0.1',
  port: 8080,
  logLevel: 'info' as LogLevel,
  rateLimit: { perMinute: 600, sessionPerMinute: 1200, secretPerMinute: 30 } satisfies RateLimits,
  bodyLimit: 1024 * 1024,
  connections: DEFAULT_CONNECTION_LIMITS,
};

function usage(message: string, hint: string): CumulusError {
  return new CumulusError('usage', message, { hint });
}

function parsePort(text: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535)
    throw usage(`"${text}" is not a port number`, 'use a number from 0 to 65535 (0 picks a free port)');
  return port;
}

function parseTrustProxy(value: boolean | string | undefined): boolean | string {
  if (value === undefined || value === false || value === '' || value === 'false') return false;
  if (value === true || value === 'true') return true;
  return value;
}

function parseNotifications(env: NodeJS.ProcessEnv): NotificationConfig {
  const url = env.CUMULUS_SMTP_URL;
  const from = env.CUMULUS_SMTP_FROM;
  if (url !== undefined && !/^smtps?:\/\/[^/]/.test(url))
    throw usage('CUMULUS_SMTP_URL is not an SMTP URL', 'use smtp://user:password@host:587 or smtps://…:465');
  if ((url === undefined) !== (from === undefined))
    throw usage(
      'e-mail needs both a relay and a From address',
      'set both CUMULUS_SMTP_URL and CUMULUS_SMTP_FROM',
    );
  return {
    ...(url && from ? { smtp: { url, from } } : {}),
    webhookPrivateHosts: (env.CUMULUS_WEBHOOK_PRIVATE_HOSTS ?? '')
      .split(',')
      .map((host) => host.trim())
      .filter((host) => host !== ''),
  };
}

export function parseServerConfig(flags: ServerFlags, env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const logLevel = flags.logLevel ?? env.CUMULUS_LOG_LEVEL ?? DEFAULTS.logLevel;
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw usage(`"${logLevel}" is not a log level`, `use one of ${LOG_LEVELS.join(', ')}`);
  }
  const certFile = flags.tlsCert ?? env.CUMULUS_TLS_CERT;
  const keyFile = flags.tlsKey ?? env.CUMULUS_TLS_KEY;
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw usage('TLS needs both a certificate and a key', 'pass both --tls-cert and --tls-key, or neither');
  }
  const port = flags.port ?? env.CUMULUS_PORT;
  const databaseUrl = env.CUMULUS_DATABASE_URL || undefined;
  if (databaseUrl !== undefined && !isPostgresUrl(databaseUrl)) {
    throw usage(
      'CUMULUS_DATABASE_URL is not a postgres:// URL',
      'write it like postgres://user:password@host:5432/cumulus, or unset it to keep the data in the data folder',
    );
  }
  return {
    dataDir: resolve(flags.data ?? env.CUMULUS_DATA_DIR ?? DEFAULTS.dataDir),
    ...(databaseUrl ? { databaseUrl } : {}),
    blobStore: parseBlobStore(env),
    host: flags.host ?? env.CUMULUS_HOST ?? DEFAULTS.host,
    port: port === undefined ? DEFAULTS.port : parsePort(port),
    ...(certFile && keyFile ? { tls: { certFile: resolve(certFile), keyFile: resolve(keyFile) } } : {}),
    trustProxy: parseTrustProxy(flags.trustProxy ?? env.CUMULUS_TRUST_PROXY),
    logLevel: logLevel as LogLevel,
    rateLimit: { ...DEFAULTS.rateLimit },
    bodyLimit: DEFAULTS.bodyLimit,
    connections: { ...DEFAULTS.connections },
    notifications: parseNotifications(env),
  };
}

export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//.test(url);
}

/** redactUrl is the URL without its password. */
export function redactUrl(url: string): string {
  const parsed = URL.parse(url);
  if (parsed === null) return 'postgres://(an unparsable URL)';
  if (parsed.password !== '') parsed.password = '***';
  return parsed.toString();
}

/** describeDatabase names where the server's metadata lives, without the password. */
export function describeDatabase(config: Pick<ServerConfig, 'dataDir' | 'databaseUrl'>): string {
  return config.databaseUrl === undefined
    ? `SQLite in ${config.dataDir} (server.sqlite, accounts/<account>/index.sqlite)`
    : `PostgreSQL ${redactUrl(config.databaseUrl)}`;
}

/** parseBlobStore reads CUMULUS_BLOB_STORE: unset or empty for the data folder, s3://bucket/prefix for S3. */
function parseBlobStore(env: NodeJS.ProcessEnv): BlobStoreConfig {
  const url = env.CUMULUS_BLOB_STORE;
  if (url === undefined || url === '') return { kind: 'folder' };
  if (!url.startsWith('s3://'))
    throw usage(
      `CUMULUS_BLOB_STORE "${url}" is not an s3:// address`,
      'set it to s3://bucket/prefix, or leave it unset to keep packs in the data folder',
    );
  return { kind: 's3', settings: s3Settings(url, env) };
}
