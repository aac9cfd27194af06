/**
 * buildServices wires the server's services over one database, one clock and the
 * per-account repositories. The HTTP app and the admin CLI both use it.
 */
import type { Clock } from '../clock.ts';
import type { Database } from '../db/database.ts';
import { MIGRATIONS } from '../db/migrations.ts';
import { AddressGuard } from '../notify/address-guard.ts';
import type { Mailer } from '../notify/mailer.ts';
import { AccountRecords } from './account-records.ts';
import { type AccountRepositories, DEFAULT_COLLECT_EVERY_MS } from './account-repositories.ts';
import { AccountsService } from './accounts.ts';
import { AdminService } from './admin.ts';
import { ApprovalsService } from './approvals.ts';
import { AuditLog } from './audit.ts';
import { type AuthHashCost, DEFAULT_AUTH_HASH_COST } from './credentials.ts';
import { DevicesService } from './devices.ts';
import { ForecastService } from './forecast.ts';
import { IncidentsService } from './incidents.ts';
import { InvitesService } from './invites.ts';
import { LifecycleService } from './lifecycle.ts';
import { MaintenanceScheduler } from './maintenance.ts';
import { type DeliveryPolicy, NotificationsService } from './notifications.ts';
import { PinsService } from './pins.ts';
import { PlansService } from './plans.ts';
import { ReleasesService } from './releases.ts';
import { Replicas, type ReplicaTiming } from './replicas.ts';
import { DEFAULT_RETENTION_EVERY_MS, RetentionService } from './retention.ts';
import { SessionsService } from './sessions.ts';
import { SignInService } from './sign-in.ts';
import { StatusService } from './status.ts';
import { ACCOUNT_POLICY, AttemptGuard, IP_POLICY, type ThrottlePolicy } from './throttle.ts';
import { TotpService } from './totp.ts';

export interface ServiceOptions {
  db: Database;
  clock: Clock;
  repositories: AccountRepositories;
  /** Cost of the server-side hash of auth keys; tests lower it. */
  authHashCost?: AuthHashCost;
  /** Growing-delay policies for failed attempts; tests shorten them. */
  throttle?: { account: ThrottlePolicy; ip: ThrottlePolicy };
  /** How long status probe results are reused (ms). */
  statusCacheMs?: number;
  /** Heartbeat and leader lease periods; tests shorten them. */
  replicaTiming?: ReplicaTiming;
  /** How often every account's garbage is collected (default an hour). */
  gcEveryMs?: number;
  /** How often the maintenance scheduler looks for due jobs (default a minute). */
  maintenanceTickMs?: number;
  /** How notices leave: the mail relay (none: no e-mail), which private hosts webhooks may reach, deadlines and retries. */
  delivery?: { mailer?: Mailer | null; guard?: AddressGuard; policy?: DeliveryPolicy };
}

export interface Services {
  db: Database;
  clock: Clock;
  repositories: AccountRepositories;
  audit: AuditLog;
  accounts: AccountsService;
  invites: InvitesService;
  sessions: SessionsService;
  devices: DevicesService;
  approvals: ApprovalsService;
  signIn: SignInService;
  totp: TotpService;
  plans: PlansService;
  incidents: IncidentsService;
  status: StatusService;
  releases: ReleasesService;
  admin: AdminService;
  /** This process among the servers sharing the database; startServer starts its heartbeat. */
  replicas: Replicas;
  pins: PinsService;
  retention: RetentionService;
  forecast: ForecastService;
  /** Runs the maintenance jobs once started (startServer starts it; the admin CLI does not). */
  maintenance: MaintenanceScheduler;
  notifications: NotificationsService;
  lifecycle: LifecycleService;
}

/** LIFECYCLE_CHECK_EVERY_MS is how often the silence and expiry checks run. */
const LIFECYCLE_CHECK_EVERY_MS = 60 * 60_000;

/** buildServices migrates the database to the current schema, creates default plans and returns the services. */
export async function buildServices(options: ServiceOptions): Promise<Services> {
  const { db, clock, repositories } = options;
  await db.migrate(MIGRATIONS);
  const guard = new AttemptGuard(db, clock, options.throttle ?? { account: ACCOUNT_POLICY, ip: IP_POLICY });
  const audit = new AuditLog(db, clock);
  const records = new AccountRecords(db);
  const plans = new PlansService(db, records, clock, audit, repositories);
  await plans.ensureDefaults();
  const accounts = new AccountsService({
    db,
    records,
    clock,
    audit,
    plans,
    repositories,
    guard,
    hashCost: options.authHashCost ?? DEFAULT_AUTH_HASH_COST,
  });
  const invites = new InvitesService({ db, records, clock, audit, accounts, plans });
  const sessions = new SessionsService(db, clock, audit);
  const devices = new DevicesService({ db, clock, audit, sessions, repositories });
  const approvals = new ApprovalsService(db, clock, audit);
  const pins = new PinsService({ db, clock, repositories, devices });
  const totp = new TotpService({ db, records, clock, audit, accounts, guard });
  const signIn = new SignInService({ db, audit, accounts, approvals, devices, sessions, totp, guard });
  const incidents = new IncidentsService(db, clock, audit);
  const replicas = new Replicas(db, clock, options.replicaTiming);
  const maintenance = new MaintenanceScheduler({
    db,
    clock,
    leader: replicas,
    tickMs: options.maintenanceTickMs,
  });
  maintenance.register({
    name: 'gc',
    everyMs: options.gcEveryMs ?? DEFAULT_COLLECT_EVERY_MS,
    run: async () => ({ numbers: { ...(await repositories.collectAll()) } }),
  });
  const retention = new RetentionService({ db, clock, repositories, devices, pins, plans });
  maintenance.register({
    name: 'retention',
    everyMs: DEFAULT_RETENTION_EVERY_MS,
    run: async () => ({ numbers: { ...(await retention.applyAll()) } }),
  });
  const forecast = new ForecastService({ db, clock, repositories, plans, retention });
  const status = new StatusService({
    db,
    records,
    clock,
    repositories,
    incidents,
    replicas,
    maintenance,
    cacheMs: options.statusCacheMs ?? 5000,
  });
  const releases = new ReleasesService(db, clock, audit);
  const admin = new AdminService({ db, accounts, sessions, plans, approvals });
  const notifications = new NotificationsService({
    db,
    clock,
    audit,
    accounts,
    mailer: options.delivery?.mailer ?? null,
    guard: options.delivery?.guard ?? new AddressGuard(),
    policy: options.delivery?.policy,
  });
  const lifecycle = new LifecycleService({
    db,
    clock,
    audit,
    devices,
    notifications,
    repositories,
    pins,
  });
  // Hourly: a notice is at most an hour late on a threshold counted in days.
  maintenance.register({
    name: 'silence',
    everyMs: LIFECYCLE_CHECK_EVERY_MS,
    run: async (now) => ({ numbers: { ...(await lifecycle.checkSilence(now)) } }),
  });
  maintenance.register({
    name: 'expiry',
    everyMs: LIFECYCLE_CHECK_EVERY_MS,
    run: async (now) => ({ numbers: { ...(await lifecycle.checkExpiry(now)) } }),
  });
  return {
    db,
    clock,
    repositories,
    audit,
    accounts,
    invites,
    sessions,
    devices,
    approvals,
    signIn,
    totp,
    plans,
    incidents,
    status,
    releases,
    admin,
    replicas,
    pins,
    retention,
    forecast,
    maintenance,
    notifications,
    lifecycle,
  };
}
