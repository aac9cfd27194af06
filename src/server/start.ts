/**
 * startServer opens the data folder (SQLite metadata, or PostgreSQL with a database URL, and
 * the per-account repositories),
 * builds the app and listens. openServerData opens the same data without listening, for
 * the admin CLI (`cumulus server admin create`, `user add`, `incident`, `release`).
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { openPostgresPool } from '../store/postgres.ts';
import { buildApp } from './app.ts';
import { type Clock, systemClock } from './clock.ts';
import type { NotificationConfig, ServerConfig } from './config.ts';
import { tightenModes } from './data-modes.ts';
import type { Database } from './db/database.ts';
import { PostgresDatabase } from './db/postgres-database.ts';
import { SqliteDatabase } from './db/sqlite-database.ts';
import { AddressGuard } from './notify/address-guard.ts';
import { SmtpMailer } from './notify/mailer.ts';
import {
  type AccountRepositories,
  accountsRoot,
  StoreAccountRepositories,
} from './services/account-repositories.ts';
import { type BlobStoreConfig, openBlobStores } from './services/blob-stores.ts';
import { refuseUnfinishedImport } from './services/import-progress.ts';
import { buildServices, type ServiceOptions, type Services } from './services/index.ts';
import { type AccountMetaStores, openMetaStores } from './services/meta-stores.ts';
import { DEFAULT_DELIVERY, type DeliveryPolicy } from './services/notifications.ts';

/** StartOptions replace the defaults in tests: a fake clock, cheaper hashing, a captured log. */
export interface StartOptions
  extends Partial<
    Pick<
      ServiceOptions,
      'authHashCost' | 'throttle' | 'statusCacheMs' | 'replicaTiming' | 'gcEveryMs' | 'maintenanceTickMs'
    >
  > {
  clock?: Clock;
  repositories?: AccountRepositories;
  /** How long gc keeps an unreferenced blob after its last touch (default 15 minutes). */
  gcGraceMs?: number;
  /** The web console's built files (default: web/dist of this package). */
  consoleDir?: string;
  /** Where log lines go instead of standard output. */
  logStream?: { write(line: string): void };
  /** Deadlines and retries of notices (tests shorten them). */
  deliveryPolicy?: DeliveryPolicy;
}

const CONSOLE_DIR = resolve(import.meta.dirname, '../../web/dist');

export interface ServerData {
  services: Services;
  close(): Promise<void>;
}

export interface RunningServer extends ServerData {
  /** The address to give clients, e.g. http://127.0.0.1:8080. */
  url: string;
  app: FastifyInstance;
  /** True until the first admin account exists. */
  needsAdmin: boolean;
}

/**
 * openDatabase opens the server database and says where every account's repository
 * metadata lives: with a database URL both are in PostgreSQL, on one pool; else
 * DATA/server.sqlite and a SQLite file per account.
 */
function openDatabase(config: DataConfig): {
  db: Database;
  metas: AccountMetaStores;
  close(): Promise<void>;
} {
  const root = accountsRoot(config.dataDir);
  if (config.databaseUrl === undefined) {
    const db = new SqliteDatabase(join(config.dataDir, 'server.sqlite'));
    return { db, metas: openMetaStores(undefined, root), close: () => db.close() };
  }
  const pool = openPostgresPool(config.databaseUrl);
  return { db: new PostgresDatabase(pool), metas: openMetaStores(pool, root), close: () => pool.end() };
}

/** The data a server opens; without blobStore, packs live in the data folder. */
type DataConfig = Pick<ServerConfig, 'dataDir' | 'databaseUrl'> & {
  blobStore?: BlobStoreConfig;
  /** The mail relay and webhook exceptions; without them (the admin CLI) no notice is sent. */
  notifications?: NotificationConfig;
};

/** openServerData opens (creating and migrating if needed) a server's data folder and database. */
export async function openServerData(config: DataConfig, options: StartOptions = {}): Promise<ServerData> {
  const { dataDir } = config;
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const { db, metas, close: closeDatabase } = openDatabase(config);
  const clock = options.clock ?? systemClock;
  const repositories =
    options.repositories ??
    new StoreAccountRepositories(dataDir, {
      clock: () => clock.now(),
      graceMs: options.gcGraceMs,
      blobs: openBlobStores(config.blobStore ?? { kind: 'folder' }, accountsRoot(dataDir)),
      metas,
    });
  const policy = options.deliveryPolicy ?? DEFAULT_DELIVERY;
  const smtp = config.notifications?.smtp;
  const mailer = smtp ? new SmtpMailer(smtp, policy.timeoutMs) : null;
  try {
    await refuseUnfinishedImport(db);
    const services = await buildServices({
      db,
      clock,
      repositories,
      authHashCost: options.authHashCost,
      throttle: options.throttle,
      statusCacheMs: options.statusCacheMs,
      replicaTiming: options.replicaTiming,
      gcEveryMs: options.gcEveryMs,
      maintenanceTickMs: options.maintenanceTickMs,
      delivery: {
        mailer,
        guard: new AddressGuard(config.notifications?.webhookPrivateHosts),
        policy,
      },
    });
    // After the database exists: SQLite creates its files with the umask's modes.
    await tightenModes(dataDir);
    return {
      services,
      close: async () => {
        await services.maintenance.stop();
        mailer?.close();
        await repositories.close();
        await closeDatabase();
      },
    };
  } catch (error) {
    mailer?.close();
    await closeDatabase();
    throw error;
  }
}

export async function startServer(config: ServerConfig, options: StartOptions = {}): Promise<RunningServer> {
  const data = await openServerData(config, options);
  try {
    const https = config.tls && {
      cert: await readFile(config.tls.certFile),
      key: await readFile(config.tls.keyFile),
    };
    const app = await buildApp({
      services: data.services,
      logger: { level: config.logLevel, ...(options.logStream ? { stream: options.logStream } : {}) },
      trustProxy: config.trustProxy,
      https,
      rateLimit: config.rateLimit,
      bodyLimit: config.bodyLimit,
      connections: config.connections,
      consoleDir: options.consoleDir ?? CONSOLE_DIR,
    });
    await data.services.replicas.start();
    await app.listen({ host: config.host, port: config.port });
    // Maintenance runs only in the listening server, never in the admin CLI's short-lived opens.
    data.services.maintenance.start();
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    return {
      ...data,
      app,
      url: `${https ? 'https' : 'http'}://${host}:${port}`,
      needsAdmin: (await data.services.accounts.countAdmins()) === 0,
      close: async () => {
        await app.close();
        // The run under way ends before the lease is given up for the next leader.
        await data.services.maintenance.stop();
        await data.services.replicas.stop();
        await data.close();
      },
    };
  } catch (error) {
    await data.services.replicas.stop().catch(() => {});
    await data.close();
    throw error;
  }
}
