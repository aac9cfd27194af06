import type { Command } from 'commander';
import { backup, dryRunBackup, type SourceSpec } from '../../client/archiver/archiver.ts';
import { readPatternFile } from '../../client/excludes.ts';
import { CumulusError } from '../../core/errors.ts';
import { formatBytes } from '../../core/units.ts';
import { EXIT } from '../exit-codes.ts';
import { duration, table } from '../format.ts';
import { progressReporter } from '../progress.ts';
import { printJson, withRepository, withRepositoryOptions } from '../repository-options.ts';

const collect = (value: string, previous: string[]) => [...previous, value];

export function register(program: Command): void {
  withRepositoryOptions(
    program.command('backup').description('back up files and folders into a new snapshot'),
  )
    .argument('[paths...]', "files and folders to back up (default, when signed in: this device's sources)")
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
    .option('--dry-run', 'say which files a backup would read now, without reading or sending anything')
    .option('--json', 'print progress and the summary as JSON lines')
    .action(async (paths: string[], options) => {
      if (options.dryRun) return dryRun(paths, options);
      if (paths.length === 0) return backUpDevice(options);
      const excludes = [...options.exclude, ...options.excludeFile.flatMap(readPatternFile)];
      const reporter = progressReporter({ json: options.json ?? false, label: 'backup' });
      const result = await withRepository(
        options,
        (vault, target) =>
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
                  filesTotal: c.filesTotal,
                  bytesDone: c.bytesDone,
                  bytesTotal: c.bytesTotal,
                  totalsFinal: c.totalsFinal,
                  elapsedMs: event.elapsedMs,
                });
              }
            },
          }),
        { indexCache: true },
      ).finally(() => reporter.stop());
      const s = result.summary;
      if (options.json) {
        const line = { type: 'summary', snapshot: result.snapshotId, ...s, warnings: result.warnings };
        process.stdout.write(`${JSON.stringify(line)}\n`);
      } else {
        process.stdout.write(
          [
            `Files:  ${s.filesNew} new, ${s.filesChanged} changed, ${s.filesUnchanged} unchanged`,
            `Read:   ${formatBytes(s.bytesRead)} of ${formatBytes(s.logicalBytes)}; added to the repository: ${formatBytes(s.bytesAdded)}`,
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

interface BackupCommandOptions {
  repo?: string;
  passwordFile?: string;
  exclude: string[];
  excludeFile: string[];
  host?: string;
  json?: boolean;
}

function hasLocalRepository(options: BackupCommandOptions): boolean {
  return (options.repo ?? process.env.CUMULUS_REPOSITORY ?? '') !== '';
}

/** deviceAgent is this device's agent context, loaded only without paths: it pulls in the sensors and the server client. */
async function deviceAgent() {
  return (await import('../../agent/context.ts')).machineContext();
}

/** deviceSources are the signed-in device's sources with their excludes, for `backup` without paths. */
async function deviceSources(
  options: BackupCommandOptions,
  agent?: Awaited<ReturnType<typeof deviceAgent>>,
): Promise<SourceSpec[]> {
  if (hasLocalRepository(options)) {
    throw new CumulusError('usage', 'name the files and folders to back up', {
      hint: "without paths, `cumulus backup` backs up the signed-in device's sources",
    });
  }
  const { settings } = await (agent ?? (await deviceAgent())).settings.inspect();
  if (settings.sources.length === 0) {
    throw new CumulusError('usage', 'this device has no sources to back up', {
      hint: 'add one with `cumulus sources add PATH`, or name what to back up: cumulus backup PATH...',
    });
  }
  return settings.sources;
}

/**
 * backUpDevice is `cumulus backup` on a signed-in device: its sources, now — by the agent
 * when it runs, else here — journaled like the agent's backups.
 */
async function backUpDevice(options: BackupCommandOptions): Promise<void> {
  const agent = await deviceAgent();
  await deviceSources(options, agent);
  const reporter = progressReporter({ json: options.json ?? false, label: 'backup' });
  const started = Date.now();
  // Ctrl-C stops a backup run here cleanly (journaled as stopped); one the agent runs goes on.
  const interrupt = new AbortController();
  const onSignal = () => interrupt.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const { backUpNow } = await import('../../agent/back-up-now.ts');
  const result = await backUpNow(agent, {
    signal: interrupt.signal,
    onNotice: (line) => reporter.warn(line),
    onProgress: (p) =>
      reporter.update({
        filesDone: p.filesDone,
        filesTotal: p.filesTotal ?? p.filesDone,
        bytesDone: p.bytesDone,
        bytesTotal: p.bytesTotal ?? p.bytesDone,
        totalsFinal: p.totalsFinal,
        elapsedMs: Date.now() - started,
      }),
  }).finally(() => {
    reporter.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  });
  if (result.kind === 'failed') throw result.error;
  if (interrupt.signal.aborted && result.kind !== 'completed') {
    process.exitCode = EXIT.interrupted;
    return;
  }
  if (result.kind !== 'completed') {
    throw new CumulusError('partial', 'the backup stopped before it finished', {
      hint: 'what was sent is kept; the next backup resumes from there',
    });
  }
  const outcome = result.outcome;
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ type: 'summary', ...outcome })}\n`);
  } else {
    process.stdout.write(
      [
        `Files:  ${outcome.filesNew} new, ${outcome.filesChanged} changed`,
        `Added to the account: ${formatBytes(outcome.bytesAdded)}`,
        `Took:   ${duration(outcome.durationMs)}`,
        `snapshot ${outcome.snapshotId.slice(0, 8)} saved`,
        '',
      ].join('\n'),
    );
  }
  if (outcome.problems.length > 0) {
    for (const p of outcome.problems) process.stderr.write(`warning: ${p.path}: ${p.message}\n`);
    process.stderr.write(`${outcome.problems.length} item(s) could not be backed up\n`);
    process.exitCode = EXIT.partial;
  }
}

/** dryRun is `cumulus backup --dry-run`: what a backup of these paths (or the device's sources) would read now. */
async function dryRun(paths: string[], options: BackupCommandOptions): Promise<void> {
  const specs: (string | SourceSpec)[] = paths.length > 0 ? paths : await deviceSources(options);
  const excludes = [...options.exclude, ...options.excludeFile.flatMap(readPatternFile)];
  const result = await withRepository(options, (vault, target) =>
    dryRunBackup(vault, { paths: specs, excludes, host: options.host ?? target.device?.deviceName }),
  );
  if (options.json) {
    printJson(result);
    return;
  }
  const s = result.summary;
  const rows = result.sources.map((src) => [src.path, String(src.filesToRead), formatBytes(src.bytesToRead)]);
  process.stdout.write(
    [
      table(['SOURCE', 'FILES TO READ', 'BYTES TO READ'], rows),
      `Files:  ${s.filesNew} new, ${s.filesChanged} changed, ${s.filesUnchanged} unchanged (nothing was read or sent)`,
      '',
    ].join('\n'),
  );
}
