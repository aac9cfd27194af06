/**
 * `cumulus server` runs the Cumulus server; its subcommands administer a server's data
 * folder directly (the first admin, users, plans, incidents, releases), with or without
 * the server running. `cumulus start` is the server with its defaults (`npm start`).
 */
import type { Command } from 'commander';
import { NewIncident, NewRelease } from '../../api/admin.ts';
import { Email } from '../../api/common.ts';
import { PlanId } from '../../api/plans.ts';
import { COMPONENTS, type ComponentId } from '../../api/status.ts';
import { checked } from '../../api/validate.ts';
import { derivePasswordKeys, newKdfParams } from '../../client/account-keys.ts';
import { CumulusError } from '../../core/errors.ts';
import { formatBytes } from '../../core/units.ts';
import { describeDatabase, parseServerConfig, type ServerFlags } from '../../server/config.ts';
import { LOCAL_ADMIN } from '../../server/services/caller.ts';
import { startServer } from '../../server/start.ts';
import { readNewPassword } from '../password.ts';
import { kdfFromEnvironment, printJson } from '../repository-options.ts';
import { DATA_HELP, withData } from '../server-data.ts';
import { parseSize } from '../signed-in.ts';
import { registerServerMigrate } from './server-migrate.ts';
import { registerServerStatus } from './server-status.ts';

async function runServer(flags: ServerFlags): Promise<void> {
  const config = parseServerConfig(flags);
  const server = await startServer(config);
  const lines = [
    `Cumulus server listening on ${server.url} (data in ${config.dataDir})`,
    `Database: ${describeDatabase(config)}`,
    `Packs: ${server.services.repositories.blobStorage}`,
    `Status page: ${server.url}/status   API documentation: ${server.url}/api/docs`,
  ];
  if (server.needsAdmin) {
    lines.push(
      'No admin account yet. Create the first one (the password is asked, or read from CUMULUS_PASSWORD):',
      `  cumulus server admin create --data ${config.dataDir} --email you@example.com`,
      `then sign a device in with: cumulus login ${server.url} --email you@example.com`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.close();
}

/** addAdmin creates an admin account with the password of the person running the command: the admin's own. */
async function addAdmin(options: { email: string; plan?: string }, command: Command): Promise<void> {
  const email = checked(Email, options.email, 'email');
  const password = await readNewPassword({});
  const kdf = newKdfParams(kdfFromEnvironment());
  const { authKey } = await derivePasswordKeys(password, kdf);
  const account = await withData(command, (data) =>
    data.services.accounts.create(LOCAL_ADMIN, { email, role: 'admin', planId: options.plan, kdf, authKey }),
  );
  process.stdout.write(`created admin account ${account.email} (plan ${account.planId})\n`);
  process.stdout.write(`sign a device in with: cumulus login SERVER_URL --email ${account.email}\n`);
}

/** inviteUser makes a one-time invite: the new user chooses the password, so the admin never knows it. */
async function inviteUser(options: { email: string; plan?: string; url?: string }, command: Command) {
  const email = checked(Email, options.email, 'email');
  const invite = await withData(command, (data) =>
    data.services.invites.create(LOCAL_ADMIN, { email, planId: options.plan }),
  );
  process.stdout.write(
    `invited ${invite.email} (plan ${invite.planId}); the invite works once, until ${invite.expiresAt}.\n` +
      'Give the user this command (it is as secret as a password until used; they choose their password):\n\n' +
      `  cumulus login ${options.url ?? 'SERVER_URL'} --email ${invite.email} --invite ${invite.token}\n`,
  );
}

function parseComponents(text: string): ComponentId[] {
  const ids = text.split(',').map((id) => id.trim());
  const unknown = ids.filter((id) => !(id in COMPONENTS));
  if (unknown.length > 0) {
    throw new CumulusError('usage', `unknown component ${unknown.join(', ')}`, {
      hint: `use ${Object.keys(COMPONENTS).join(', ')}`,
    });
  }
  return ids as ComponentId[];
}

function isoTime(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const time = Date.parse(text);
  if (Number.isNaN(time))
    throw new CumulusError('usage', `"${text}" is not a date and time`, {
      hint: 'write it like 2030-01-31T22:00:00Z',
    });
  return new Date(time).toISOString();
}

/** withoutUndefined drops options that were not given, so a schema sees them as absent. */
function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

export function register(program: Command): void {
  const server = program
    .command('server')
    .description('run the Cumulus server (subcommands administer its data folder)')
    .enablePositionalOptions()
    .option('--data <dir>', DATA_HELP)
    .option(
      '--host <host>',
      'address to listen on (or CUMULUS_HOST; default 127.0.0.1, 0.0.0.0 for every interface)',
    )
    .option('--port <n>', 'port to listen on (or CUMULUS_PORT; default 8080, 0 picks a free one)')
    .option(
      '--tls-cert <file>',
      'serve HTTPS with this PEM certificate (or CUMULUS_TLS_CERT); needs --tls-key',
    )
    .option('--tls-key <file>', 'the PEM private key of --tls-cert (or CUMULUS_TLS_KEY)')
    .option(
      '--trust-proxy [addresses]',
      'running behind a reverse proxy that terminates TLS: trust its X-Forwarded-For/-Proto, from any proxy or only these comma-separated addresses (or CUMULUS_TRUST_PROXY)',
    )
    .option(
      '--log-level <level>',
      'fatal, error, warn, info, debug, trace or silent (or CUMULUS_LOG_LEVEL; default info)',
    )
    .addHelpText(
      'after',
      '\nWithout TLS options the server speaks plain HTTP: keep it on 127.0.0.1, or put a TLS reverse proxy in\nfront and pass --trust-proxy. Data: DATA/server.sqlite (accounts, devices, plans) and DATA/accounts/.',
    )
    .action((options: ServerFlags) => runServer(options));

  program
    .command('start')
    .description('start the Cumulus server with its defaults or CUMULUS_* variables (what `npm start` runs)')
    .action(() => runServer({}));

  registerServerStatus(server);
  registerServerMigrate(server);

  const admin = server.command('admin').description("manage the server's admins");
  admin
    .command('create')
    .description('create an admin account (password from CUMULUS_PASSWORD or asked twice)')
    .option('--data <dir>', DATA_HELP)
    .requiredOption('--email <email>', "the admin's email")
    .option('--plan <plan>', 'plan ID (default: the default plan)')
    .action((options, command) => addAdmin(options, command));

  const user = server.command('user').description('manage user accounts');
  user
    .command('add')
    .description(
      'invite a user: a one-time command with which they create the account with their own password',
    )
    .option('--data <dir>', DATA_HELP)
    .requiredOption('--email <email>', "the user's email")
    .option('--plan <plan>', 'plan ID (default: the default plan)')
    .option('--url <url>', 'the server address the user signs in to, to print the whole command')
    .action((options, command) => inviteUser(options, command));
  user
    .command('list')
    .description('list every account')
    .option('--data <dir>', DATA_HELP)
    .option('--json', 'print JSON')
    .action((options, command: Command) =>
      withData(command, async (data) => {
        const users = await data.services.admin.listUsers();
        if (options.json) return printJson({ users });
        for (const u of users) {
          process.stdout.write(
            `${u.email}  ${u.role}  plan ${u.planId}  ${u.devices} device(s)  ${formatBytes(u.usedBytes)} used${u.disabled ? '  DISABLED' : ''}\n`,
          );
        }
      }),
    );
  for (const [name, description] of [
    ['disable', 'disable an account: it cannot sign in and its devices are signed out'],
    ['enable', 'enable a disabled account again'],
  ] as const) {
    user
      .command(`${name} <email>`)
      .description(description)
      .option('--data <dir>', DATA_HELP)
      .action((email: string, _options, command: Command) =>
        withData(command, async (data) => {
          const id = await data.services.accounts.idByEmail(email);
          await (name === 'disable'
            ? data.services.admin.disable(LOCAL_ADMIN, id)
            : data.services.admin.enable(LOCAL_ADMIN, id));
          process.stdout.write(`${email}: ${name}d\n`);
        }),
      );
  }
  user
    .command('set-plan <email> <plan>')
    .description("set an account's plan (any plan, even below its usage)")
    .option('--data <dir>', DATA_HELP)
    .action((email: string, plan: string, _options, command: Command) =>
      withData(command, async (data) => {
        await data.services.admin.setPlan(LOCAL_ADMIN, await data.services.accounts.idByEmail(email), plan);
        process.stdout.write(`${email}: plan ${plan}\n`);
      }),
    );

  const plan = server.command('plan').description('manage the storage plans');
  plan
    .command('list')
    .description('list every plan')
    .option('--data <dir>', DATA_HELP)
    .option('--json', 'print JSON')
    .action((options, command: Command) =>
      withData(command, async (data) => {
        const plans = await data.services.plans.list({ offeredOnly: false });
        if (options.json) return printJson({ plans });
        for (const p of plans) {
          process.stdout.write(
            `${p.id}  ${p.name}  ${formatBytes(p.quotaBytes)}${p.offered ? '' : '  (not offered)'}${p.isDefault ? '  (default)' : ''}\n`,
          );
        }
      }),
    );
  plan
    .command('put <id>')
    .description('create or change a plan')
    .option('--data <dir>', DATA_HELP)
    .requiredOption('--name <name>', 'name shown to users')
    .requiredOption('--quota <size>', 'storage allowance, like 500MB, 5GB, 2TB')
    .option('--hidden', 'do not offer it to users (admins can still assign it)')
    .option('--default', 'give it to new accounts')
    .action((id: string, options, command: Command) =>
      withData(command, async (data) => {
        const saved = await data.services.plans.put(LOCAL_ADMIN, checked(PlanId, id, 'plan ID'), {
          name: options.name,
          quotaBytes: parseSize(options.quota),
          offered: !options.hidden,
          ...(options.default ? { isDefault: true } : {}),
        });
        process.stdout.write(`plan ${saved.id}: ${saved.name}, ${formatBytes(saved.quotaBytes)}\n`);
      }),
    );

  const incident = server
    .command('incident')
    .description('declare incidents and maintenance for the status page');
  incident
    .command('add')
    .description('declare an incident, or a maintenance window with --maintenance')
    .option('--data <dir>', DATA_HELP)
    .requiredOption('--title <text>', 'what users see')
    .requiredOption(
      '--components <list>',
      `affected components, comma-separated: ${Object.keys(COMPONENTS).join(', ')}`,
    )
    .option('--message <text>', 'more detail')
    .option('--severity <level>', 'minor (amber) or major (red)')
    .option('--maintenance', 'a planned maintenance window')
    .option('--starts <time>', 'when it starts (ISO 8601; default now)')
    .option('--ends <time>', 'when it ends (ISO 8601)')
    .option('--json', 'print JSON')
    .action((options, command: Command) =>
      withData(command, async (data) => {
        const input = {
          kind: options.maintenance ? 'maintenance' : 'incident',
          title: options.title,
          message: options.message,
          severity: options.severity,
          components: parseComponents(options.components),
          startsAt: isoTime(options.starts),
          endsAt: isoTime(options.ends),
        };
        const declared = await data.services.incidents.declare(
          LOCAL_ADMIN,
          checked(NewIncident, withoutUndefined(input), 'incident'),
        );
        if (options.json) return printJson(declared);
        process.stdout.write(`declared ${declared.kind} ${declared.id}: ${declared.title}\n`);
      }),
    );
  incident
    .command('list')
    .description('list incidents and maintenance windows, newest first')
    .option('--data <dir>', DATA_HELP)
    .option('--json', 'print JSON')
    .action((options, command: Command) =>
      withData(command, async (data) => {
        const incidents = await data.services.incidents.list();
        if (options.json) return printJson({ incidents });
        for (const i of incidents) {
          const state = i.resolvedAt ? `resolved ${i.resolvedAt}` : 'open';
          process.stdout.write(
            `${i.id}  ${i.kind}  ${i.severity}  ${i.startsAt}  ${state}  ${i.title} [${i.components.join(', ')}]\n`,
          );
        }
      }),
    );
  incident
    .command('resolve <id>')
    .description('resolve an incident, or end a maintenance window now')
    .option('--data <dir>', DATA_HELP)
    .action((id: string, _options, command: Command) =>
      withData(command, async (data) => {
        const resolved = await data.services.incidents.resolve(LOCAL_ADMIN, id);
        process.stdout.write(`resolved ${resolved.id}: ${resolved.title}\n`);
      }),
    );

  const release = server.command('release').description('publish agent versions (the update channel)');
  release
    .command('publish <version>')
    .description(
      'publish an agent version (MAJOR.MINOR.PATCH) and the minimum version the server still accepts',
    )
    .option('--data <dir>', DATA_HELP)
    .requiredOption('--minimum <version>', 'agents older than this must update before backing up')
    .option('--notes <text>', 'release notes', '')
    .action((version: string, options, command: Command) =>
      withData(command, async (data) => {
        const input = { version, minimumVersion: options.minimum, notes: options.notes };
        const published = await data.services.releases.publish(
          LOCAL_ADMIN,
          checked(NewRelease, input, 'release'),
        );
        process.stdout.write(`published ${published.version} (minimum ${published.minimumVersion})\n`);
      }),
    );
  release
    .command('list')
    .description('list published versions, newest first')
    .option('--data <dir>', DATA_HELP)
    .option('--json', 'print JSON')
    .action((options, command: Command) =>
      withData(command, async (data) => {
        const releases = await data.services.releases.list();
        if (options.json) return printJson({ releases });
        for (const r of releases)
          process.stdout.write(`${r.version}  minimum ${r.minimumVersion}  ${r.publishedAt}  ${r.notes}\n`);
      }),
    );
}
