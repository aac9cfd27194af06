/**
 * The agent's BackupRunner adapter: engineRunner backs up through the archiver into the
 * signed-in account's repository on the server (the remote vault); it predicts with a real
 * dry scan that counts every file as new (an upper bound: the engine skips what is already
 * stored).
 */
import { backup } from '../../client/archiver/archiver.ts';
import { requireDeviceState } from '../../client/device-state.ts';
import { openRemoteVault } from '../../client/remote-vault.ts';
import { isCumulusError } from '../../core/errors.ts';
import type { BackupOutcome, BackupProgress, BackupRunner, BackupSource, Prediction } from '../ports.ts';
import { scanSource } from '../source-scan.ts';

/**
 * engineRunner runs each backup as the device signed in under `configDir` (read at each
 * run, so it follows login and logout). Stopping: an aborted signal stops the archiver at
 * its next step and `run` rejects with the signal's reason; every pack already stored
 * stays, so the next run does not send it again. A dropped connection is retried by the
 * remote repository, then surfaces as 'network'; a full plan as 'quota_exceeded' with the
 * server's numbers. Excludes of all sources apply to each (patterns are relative to a source).
 */
export function engineRunner(configDir: string, agentVersion: string): BackupRunner {
  return {
    async run(sources, { signal, onProgress }): Promise<BackupOutcome> {
      const state = await requireDeviceState(configDir);
      const vault = openRemoteVault(state, { agentVersion });
      try {
        const result = await backup(vault, {
          paths: sources.map((s) => s.path),
          excludes: [...new Set(sources.flatMap((s) => s.excludes))],
          host: state.deviceName,
          signal,
          onEvent: (event) => {
            if (event.type !== 'progress') return;
            const c = event.counters;
            const progress: BackupProgress = {
              filesDone: c.filesDone,
              bytesDone: c.bytesDone,
              bytesUploaded: c.bytesAdded,
              filesTotal: c.filesSeen,
              bytesTotal: c.bytesSeen,
            };
            onProgress(progress);
          },
        });
        const s = result.summary;
        return {
          status: result.warnings.length > 0 ? 'partial' : 'success',
          snapshotId: result.snapshotId,
          filesNew: s.filesNew,
          filesChanged: s.filesChanged,
          bytesAdded: s.bytesAdded,
          durationMs: s.durationMs,
          problems: result.warnings,
        };
      } catch (error) {
        if (signal.aborted && (isCumulusError(error, 'partial') || !isCumulusError(error)))
          throw signal.reason;
        throw error;
      } finally {
        await vault.repo.close();
      }
    },
    predict: predictByScan,
  };
}

/** predictByScan predicts the upload as the sum of the sources' file sizes. */
export async function predictByScan(sources: BackupSource[]): Promise<Prediction> {
  const scans = await Promise.all(sources.map((s) => scanSource(s)));
  return {
    bytesToUpload: scans.reduce((sum, s) => sum + s.bytes, 0),
    files: scans.reduce((sum, s) => sum + s.files, 0),
    sources: scans.map((s) => ({ path: s.path, bytesToUpload: s.bytes, files: s.files })),
  };
}
