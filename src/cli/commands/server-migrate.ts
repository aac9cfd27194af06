/**
 * `cumulus server migrate [--to postgres://…] [--blobs s3://bucket/prefix]`: moves an
 * embedded server's database and account indexes to PostgreSQL, its packs to S3-compatible
 * storage, or both, and verifies every account there. Run it with the server stopped; run
 * it again after an interruption, and it continues.
 */
import type { Command } from 'commander';
import { CumulusError } from '../../core/errors.ts';
import { formatBytes } from '../../core/units.ts';
import { isPostgresUrl, parseServerConfig, redactUrl } from '../../server/config.ts';
import { type AccountMigration, migrateServer } from '../../server/services/server-migration.ts';
import { s3Settings } from '../../store/s3-client.ts';
import { EXIT } from '../exit-codes.ts';
import { printJson } from '../repository-options.ts';
import { DATA_HELP } from '../server-data.ts';

interface MigrateOptions {
  to?: string;
  blobs?: string;
  json?: boolean;
}

function describe(r: AccountMigration): string {
  const parts: string[] = [];
  if (r.index !== undefined) {
    parts.push(
      r.index.copied
        ? `index copied (${r.index.snapshots} snapshot(s), ${r.index.blobs} blob(s))`
        : 'index already copied',
    );
  }
  if (r.objects > 0 || r.copied > 0)
    parts.push(`${r.copied} object(s) copied (${formatBytes(r.bytesCopied)}), ${r.skipped} already there`);
  parts.push(`${r.packsVerified} pack(s) verified`);
  if (r.problems.length > 0) parts.push(`${r.problems.length} problem(s)`);
  if (r.inherited.length > 0) parts.push(`${r.inherited.length} damaged pack(s) carried over`);
  return `account ${r.accountId}: ${parts.join(', ')}`;
}

/** startWith is the environment the migrated server needs, for the closing line. */
function startWith(options: MigrateOptions): string {
  const variables = [
    ...(options.to ? [`CUMULUS_DATABASE_URL=${redactUrl(options.to)}`] : []),
    ...(options.blobs ? [`CUMULUS_BLOB_STORE=${options.blobs} (and the same AWS variables)`] : []),
  ];
  return variables.join(' and ');
}

async function migrate(options: MigrateOptions, command: Command): Promise<void> {
  if (options.to === undefined && options.blobs === undefined) {
    throw new CumulusError('usage', 'nothing to migrate to', {
      hint: 'name --to postgres://… (the database), --blobs s3://bucket/prefix (the packs), or both',
    });
  }
  if (options.to !== undefined && !isPostgresUrl(options.to)) {
    throw new CumulusError('usage', '--to is not a postgres:// URL', {
      hint: 'e.g. --to postgres://cumulus:secret@db.example.com/cumulus',
    });
  }
  const blobs = options.blobs === undefined ? undefined : s3Settings(options.blobs, process.env);
  // The server as it runs now: its data folder, and CUMULUS_DATABASE_URL and CUMULUS_BLOB_STORE if set.
  const { dataDir, databaseUrl, blobStore } = parseServerConfig({ data: command.optsWithGlobals().data });
  const source = { dataDir, databaseUrl, blobs: blobStore };
  const migration = await migrateServer(source, { databaseUrl: options.to, blobs }, (report) => {
    if (options.json) return;
    process.stdout.write(`${describe(report)}\n`);
    for (const problem of report.problems) process.stdout.write(`  ${problem}\n`);
    for (const damage of report.inherited)
      process.stdout.write(`  already in the embedded server: ${damage}\n`);
  });
  const failed = migration.accounts.filter((r) => r.problems.length > 0);
  const ok = failed.length === 0 && migration.problems.length === 0;
  if (options.json) printJson({ ...migration, ok });
  else {
    for (const problem of migration.problems) process.stdout.write(`${problem}\n`);
    process.stdout.write(
      ok
        ? `${migration.accounts.length} account(s) migrated and verified. Start the server with ${startWith(options)}; ` +
            'what it replaces in the data folder is then unused.\n'
        : `${failed.length} account(s) and ${migration.problems.length} table(s) do not match: run the migration again\n`,
    );
  }
  if (!ok) process.exitCode = EXIT.error;
}

export function registerServerMigrate(server: Command): void {
  server
    .command('migrate')
    .description(
      "move an embedded server's database to PostgreSQL and/or its packs to S3-compatible storage, resumable, and verify every account there",
    )
    .option('--data <dir>', DATA_HELP)
    .option(
      '--to <url>',
      'postgres:// URL of an empty database for the server database and every account index',
    )
    .option(
      '--blobs <url>',
      "s3://bucket/prefix to move every account's packs to (with AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)",
    )
    .option('--json', 'print JSON')
    .action((options: MigrateOptions, command: Command) => migrate(options, command));
}
