/**
 * `cumulus server status`: what an operator asks first, read from the data folder whether
 * or not the server runs: the live probes, the server processes sharing the database
 * with the one that runs background work, which database holds the metadata (a URL
 * without its password), where account packs live (a folder, or a bucket, prefix and
 * endpoint: never a key), and each maintenance job's last run.
 */
import type { Command } from 'commander';
import { describeRun } from '../../api/status.ts';
import { describeDatabase, parseServerConfig } from '../../server/config.ts';
import { duration } from '../format.ts';
import { printJson } from '../repository-options.ts';
import { DATA_HELP, withData } from '../server-data.ts';

export function registerServerStatus(server: Command): void {
  server
    .command('status')
    .description(
      'the live probes, the server processes (replicas) sharing this data, and the maintenance jobs',
    )
    .option('--data <dir>', DATA_HELP)
    .option('--json', 'print JSON')
    .action((options: { json?: boolean }, command: Command) => {
      const config = parseServerConfig({ data: command.optsWithGlobals().data });
      const database = describeDatabase(config);
      const engine = config.databaseUrl === undefined ? 'sqlite' : 'postgres';
      return withData(command, async (data) => {
        const report = await data.services.status.report();
        const replicas = await data.services.replicas.list();
        const blobStorage = data.services.repositories.blobStorage;
        if (options.json) {
          return printJson({
            status: report.status,
            components: report.components,
            replicas,
            engine,
            database,
            blobStorage,
            maintenance: report.maintenance,
          });
        }
        const now = data.services.clock.now();
        const lines = [`Status: ${report.status}`, `Database: ${database}`, `Packs: ${blobStorage}`];
        for (const c of report.components)
          lines.push(`  ${c.name}: ${c.status}${c.detail ? ` (${c.detail})` : ''}`);
        lines.push(replicas.length === 0 ? 'Servers: none running' : `Servers: ${replicas.length}`);
        for (const r of replicas) {
          lines.push(
            `  ${r.id}  ${r.host} pid ${r.pid}  up ${duration(now - r.startedAt)}  heartbeat ${duration(now - r.heartbeatAt)} ago${r.leader ? '  leader (runs maintenance)' : ''}`,
          );
        }
        lines.push('Maintenance jobs:');
        for (const job of report.maintenance) {
          const last = job.lastRun ? `last run ${job.lastRun.startedAt}: ${describeRun(job)}` : 'not run yet';
          lines.push(`  ${job.name}: ${last}${job.nextRunAt ? `; next due ${job.nextRunAt}` : ''}`);
        }
        process.stdout.write(`${lines.join('\n')}\n`);
      });
    });
}
