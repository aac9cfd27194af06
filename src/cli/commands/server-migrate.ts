/**
 * `cumulus server migrate --blobs s3://bucket/prefix`: moves an embedded server's packs
 * from its data folder to S3-compatible storage and verifies every account there. Run it
 * with the server stopped; run it again after an interruption, and it continues.
 */
import type { Command } from 'commander';
import { CumulusError } from '../../core/errors.ts';
import { formatBytes } from '../../core/units.ts';
import { parseServerConfig } from '../../server/config.ts';
import { migrateBlobs } from '../../server/services/blob-migration.ts';
import { s3Settings } from '../../store/s3-client.ts';
import { EXIT } from '../exit-codes.ts';
import { printJson } from '../repository-options.ts';
import { DATA_HELP, withData } from '../server-data.ts';

async function migrate(options: { blobs: string; json?: boolean }, command: Command): Promise<void> {
  const settings = s3Settings(options.blobs, process.env);
  const { dataDir } = parseServerConfig({ data: command.optsWithGlobals().data });
  // Packs uploaded while copying would be missed: no server may be running on this data.
  const running = await withData(command, (data) => data.services.replicas.list());
  if (running.length > 0) {
    throw new CumulusError('conflict', `${running.length} server process(es) run on this data`, {
      hint: `stop them (${running.map((r) => `${r.host} pid ${r.pid}`).join(', ')}), then migrate`,
    });
  }
  const reports = await migrateBlobs(dataDir, settings, (r) => {
    if (options.json) return;
    process.stdout.write(
      `account ${r.accountId}: ${r.copied} object(s) copied (${formatBytes(r.bytesCopied)}), ${r.skipped} already there, ${r.packsVerified} pack(s) verified${r.problems.length > 0 ? `, ${r.problems.length} problem(s)` : ''}\n`,
    );
    for (const problem of r.problems) process.stdout.write(`  ${problem}\n`);
  });
  const failed = reports.filter((r) => r.problems.length > 0);
  if (options.json) printJson({ accounts: reports, ok: failed.length === 0 });
  else if (failed.length === 0) {
    process.stdout.write(
      `${reports.length} account(s) migrated and verified. Start the server with CUMULUS_BLOB_STORE=${options.blobs} ` +
        '(and the same AWS variables); the packs left in the data folder are then unused.\n',
    );
  } else {
    process.stdout.write(`${failed.length} account(s) do not match in the bucket: run the migration again\n`);
  }
  if (failed.length > 0) process.exitCode = EXIT.error;
}

export function registerServerMigrate(server: Command): void {
  server
    .command('migrate')
    .description("move an embedded server's packs to S3-compatible storage, resumable, and verify them there")
    .option('--data <dir>', DATA_HELP)
    .requiredOption(
      '--blobs <url>',
      "s3://bucket/prefix to move every account's packs to (with AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)",
    )
    .option('--json', 'print JSON')
    .action((options: { blobs: string; json?: boolean }, command: Command) => migrate(options, command));
}
