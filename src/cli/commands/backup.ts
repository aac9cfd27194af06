import type { Command } from 'commander';
import { backup } from '../../client/archiver/archiver.ts';
import { readPatternFile } from '../../client/excludes.ts';
import { EXIT } from '../exit-codes.ts';
import { bytes, duration } from '../format.ts';
import { progressReporter } from '../progress.ts';
import { withRepository, withRepositoryOptions } from '../repository-options.ts';

const collect = (value: string, previous: string[]) => [...previous, value];

export function register(program: Command): void {
  withRepositoryOptions(
    program.command('backup').description('back up files and folders into a new snapshot'),
  )
    .argument('<paths...>', 'files and folders to back up')
    .option(
      '-e, --exclude <pattern>',
      'leave out paths matching a gitignore-style pattern (repeatable)',
      collect,
      [],
    )
    .option('--exclude-file <file>', 'read exclude patterns from a file (repeatable)', collect, [])
    .option('--tag <tag>', 'tag the snapshot (repeatable)', collect, [])
    .option(
      '--host <name>',
      'host name recorded in the snapshot (default: this machine, or the device name when signed in)',
    )
    .option('--parent <snapshot>', 'compare against this snapshot instead of the latest of this host')
    .option('--json', 'print progress and the summary as JSON lines')
    .action(async (paths: string[], options) => {
      const excludes = [...options.exclude, ...options.excludeFile.flatMap(readPatternFile)];
      const reporter = progressReporter({ json: options.json ?? false, label: 'backup' });
      const result = await withRepository(options, (vault, target) =>
        backup(vault, {
          paths,
          excludes,
          tags: options.tag,
          // On an account, each device is its own host: its name tells its snapshots apart.
          host: options.host ?? target.device?.deviceName,
          parent: options.parent,
          onEvent: (event) => {
            if (event.type === 'warning') reporter.warn(`${event.warning.path}: ${event.warning.message}`);
            else {
              const c = event.counters;
              reporter.update({
                filesDone: c.filesDone,
                filesTotal: c.filesSeen,
                bytesDone: c.bytesDone,
                bytesTotal: c.bytesSeen,
                elapsedMs: event.elapsedMs,
              });
            }
          },
        }),
      ).finally(() => reporter.stop());
      const s = result.summary;
      if (options.json) {
        const line = { type: 'summary', snapshot: result.snapshotId, ...s, warnings: result.warnings };
        process.stdout.write(`${JSON.stringify(line)}\n`);
      } else {
        process.stdout.write(
          [
            `Files:  ${s.filesNew} new, ${s.filesChanged} changed, ${s.filesUnchanged} unchanged`,
            `Read:   ${bytes(s.bytesRead)} of ${bytes(s.logicalBytes)}; added to the repository: ${bytes(s.bytesAdded)}`,
            `Took:   ${duration(s.durationMs)}`,
            `snapshot ${result.snapshotId.slice(0, 8)} saved`,
            '',
          ].join('\n'),
        );
      }
      if (result.warnings.length > 0) {
        process.stderr.write(
          `${result.warnings.length} file(s) could not be read and are not in the snapshot\n`,
        );
        process.exitCode = EXIT.partial;
      }
    });
}
