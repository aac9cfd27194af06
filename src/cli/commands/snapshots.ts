import type { Command } from 'commander';
import { RemoteRepository } from '../../client/remote-repository.ts';
import { formatBytes } from '../../core/units.ts';
import { EXIT } from '../exit-codes.ts';
import { table } from '../format.ts';
import { printJson, withRepository, withRepositoryOptions } from '../repository-options.ts';

export function register(program: Command): void {
  withRepositoryOptions(program.command('snapshots').description('list snapshots, oldest first'))
    .option('--json', 'print as JSON')
    .action(async (options) => {
      const { snapshots, unreadable, deviceNames } = await withRepository(options, async (vault) => ({
        ...(await vault.readSnapshots()),
        // On an account, the server names the device that made each snapshot (as it is called now).
        deviceNames: vault.repo instanceof RemoteRepository ? vault.repo.deviceNames : undefined,
      }));
      // One lost description costs its own snapshot: the others are still listed.
      for (const { record, reason } of unreadable)
        process.stderr.write(
          `cumulus: snapshot ${record.id.slice(0, 8)} of ${record.time} cannot be read: ${reason}\n`,
        );
      if (unreadable.length > 0) {
        process.stderr.write('hint: `cumulus check` names the damage\n');
        process.exitCode = EXIT.partial;
      }
      if (options.json) {
        printJson(
          snapshots.map(({ record, info }) => ({
            id: record.id,
            time: info.time,
            host: info.host,
            ...(deviceNames && { device: deviceNames.get(record.device) ?? null }),
            user: info.user,
            tags: info.tags,
            paths: info.sources.map((s) => s.path),
            parent: info.parent,
            summary: info.summary,
          })),
        );
        return;
      }
      const rows = snapshots.map(({ record, info }) => [
        record.id.slice(0, 8),
        new Date(info.time).toLocaleString(),
        info.host,
        info.tags.join(','),
        formatBytes(info.summary.logicalBytes),
        info.sources.map((s) => s.path).join(', '),
      ]);
      process.stdout.write(
        `${table(['ID', 'Time', 'Host', 'Tags', 'Size', 'Paths'], rows)}\n${snapshots.length} snapshot(s)\n`,
      );
    });
}
