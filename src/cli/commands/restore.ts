import type { Command } from 'commander';
import { findDeviceSnapshot } from '../../client/remote-vault.ts';
import { restore } from '../../client/restorer.ts';
import { formatBytes } from '../../core/units.ts';
import { EXIT } from '../exit-codes.ts';
import { duration } from '../format.ts';
import { progressReporter } from '../progress.ts';
import { withRepository, withRepositoryOptions } from '../repository-options.ts';

const collect = (value: string, previous: string[]) => [...previous, value];

export function register(program: Command): void {
  withRepositoryOptions(
    program.command('restore').description('restore a snapshot (or part of it) into a folder'),
  )
    .argument('[snapshot]', 'snapshot ID or "latest"', 'latest')
    .requiredOption('-t, --target <dir>', 'folder to restore into (must be empty unless --overwrite)')
    .option(
      '-i, --include <pattern>',
      'restore only paths matching a gitignore-style pattern (repeatable)',
      collect,
      [],
    )
    .option('--host <name>', 'with "latest": the latest snapshot of this host')
    .option('--device <name>', "signed in: a snapshot of this device of the account (default: any device's)")
    .option('--overwrite', 'restore into a folder that is not empty, replacing files')
    .option('--json', 'print progress and the summary as JSON lines')
    .action(async (ref: string, options) => {
      const { result, snapshotId } = await withRepository(options, async (vault) => {
        const snapshot =
          options.device === undefined
            ? await vault.findSnapshot(ref, {
                host: options.host,
                onSkipped: ({ record, reason }) =>
                  process.stderr.write(
                    `cumulus: the newer snapshot ${record.id.slice(0, 8)} of ${record.time} cannot be read (${reason}); restoring the newest one that can\n`,
                  ),
              })
            : await findDeviceSnapshot(vault, ref, options.device);
        // The bar starts once there is a snapshot to restore, and its totals are counted first.
        const reporter = progressReporter({ json: options.json ?? false, label: 'restore' });
        const result = await restore(vault, snapshot, {
          target: options.target,
          overwrite: options.overwrite,
          include: options.include,
          onEvent: (event) => {
            if (event.type === 'failed') reporter.warn(`${event.path}: ${event.reason}`);
            else {
              const c = event.counters;
              reporter.update({
                filesDone: c.files,
                filesTotal: c.filesTotal,
                bytesDone: c.bytes,
                bytesTotal: c.bytesTotal,
                // Counted from the trees before the first file is written.
                totalsFinal: true,
                elapsedMs: event.elapsedMs,
              });
            }
          },
        }).finally(() => reporter.stop());
        return { result, snapshotId: snapshot.record.id };
      });
      const c = result.counters;
      if (options.json) {
        process.stdout.write(
          `${JSON.stringify({ type: 'summary', snapshot: snapshotId, ...c, durationMs: result.durationMs, failed: result.failed })}\n`,
        );
      } else {
        process.stdout.write(
          `restored ${c.files} files, ${c.dirs} folders, ${c.symlinks} links (${formatBytes(c.bytes)}) from ${snapshotId.slice(0, 8)} in ${duration(result.durationMs)}${c.skipped > 0 ? ` (${c.skipped} files were already restored)` : ''}\n`,
        );
      }
      if (result.failed.length > 0) {
        process.stderr.write(`${result.failed.length} file(s) could not be restored:\n`);
        for (const f of result.failed) process.stderr.write(`  ${f.path}: ${f.reason}\n`);
        process.stderr.write(
          'hint: `cumulus check` names the damaged packs; once repaired, the same restore with --overwrite retries these files and skips those already restored\n',
        );
        process.exitCode = EXIT.partial;
      }
    });
}
