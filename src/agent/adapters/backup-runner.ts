/**
 * The agent's BackupRunner adapter: engineRunner backs up through the archiver into the
 * signed-in account's repository on the server (the remote vault), each source with its
 * own excludes, and predicts the next backup with the archiver's dry run against this
 * device's last snapshot.
 */
import { stat } from 'node:fs/promises';
import { backup, dryRunBackup } from '../../client/archiver/archiver.ts';
import { withIndexCache } from '../../client/cached-repository.ts';
import { requireDeviceState } from '../../client/device-state.ts';
import { cacheDir } from '../../client/index-cache.ts';
import { openRemoteVault } from '../../client/remote-vault.ts';
import type { UnlockedRepository } from '../../client/unlocked-repository.ts';
import { CumulusError, isCumulusError } from '../../core/errors.ts';
import type { BackupOutcome, BackupProgress, BackupRunner, BackupSource } from '../ports.ts';

/**
 * engineRunner runs each backup as the device signed in under `configDir` (read at each
 * run, so it follows login and logout). Stopping: an aborted signal stops the archiver at
 * its next step and `run` rejects with the signal's reason; every pack already stored
 * stays, so the next run does not send it again. A dropped connection is retried by the
 * remote repository, then surfaces as 'network'; a full plan as 'quota_exceeded' with the
 * server's numbers.
 */
export function engineRunner(configDir: string, agentVersion: string): BackupRunner {
  const withVault = async <T>(
    use: (vault: UnlockedRepository, deviceName: string) => Promise<T>,
  ): Promise<T> => {
    const state = await requireDeviceState(configDir);
    const vault = withIndexCache(openRemoteVault(state, { agentVersion }), cacheDir());
    try {
      return await use(vault, state.deviceName);
    } finally {
      await vault.repo.close();
    }
  };
  return {
    run: (sources, { signal, onProgress }) =>
      withVault(async (vault, host): Promise<BackupOutcome> => {
        const { present, missing } = await splitMissing(sources);
        try {
          const result = await backup(vault, {
            paths: present,
            host,
            signal,
            onEvent: (event) => {
              if (event.type !== 'progress') return;
              const c = event.counters;
              const progress: BackupProgress = {
                filesDone: c.filesDone,
                bytesDone: c.bytesDone,
                bytesUploaded: c.bytesAdded,
                filesTotal: c.filesTotal,
                bytesTotal: c.bytesTotal,
                totalsFinal: c.totalsFinal,
              };
              onProgress(progress);
            },
          });
          const s = result.summary;
          const problems = [...missing, ...result.warnings];
          return {
            status: problems.length > 0 ? 'partial' : 'success',
            snapshotId: result.snapshotId,
            filesNew: s.filesNew,
            filesChanged: s.filesChanged,
            bytesAdded: s.bytesAdded,
            durationMs: s.durationMs,
            problems,
          };
        } catch (error) {
          if (signal.aborted && (isCumulusError(error, 'partial') || !isCumulusError(error)))
            throw signal.reason;
          throw error;
        }
      }),
    // The bytes of new and changed files: an upper bound, since the engine sends only chunks the account lacks, compressed.
    predict: (sources) =>
      withVault(async (vault, host) => {
        const { present } = await splitMissing(sources);
        if (present.length === 0) return { bytesToUpload: 0, files: 0, sources: [] };
        const dry = await dryRunBackup(vault, { paths: present, host });
        return {
          bytesToUpload: dry.sources.reduce((sum, s) => sum + s.bytesToRead, 0),
          files: dry.sources.reduce((sum, s) => sum + s.filesToRead, 0),
          sources: dry.sources.map((s) => ({
            path: s.path,
            bytesToUpload: s.bytesToRead,
            files: s.filesToRead,
          })),
        };
      }),
  };
}

/**
 * splitMissing sets aside sources that are not there now (an unplugged drive, a deleted
 * folder): the backup goes on with the others and ends partial, naming them. When none is
 * there, there is nothing to back up: CumulusError 'source_missing'.
 */
async function splitMissing(
  sources: BackupSource[],
): Promise<{ present: BackupSource[]; missing: { path: string; message: string }[] }> {
  const found = await Promise.all(
    sources.map((s) =>
      stat(s.path).then(
        () => true,
        () => false,
      ),
    ),
  );
  const present = sources.filter((_, i) => found[i]);
  const missing = sources
    .filter((_, i) => !found[i])
    .map((s) => ({ path: s.path, message: 'this source folder is not on the device now' }));
  if (present.length === 0 && missing.length > 0)
    throw new CumulusError(
      'source_missing',
      `no source folder is on the device now (${missing.map((m) => m.path).join(', ')})`,
      {
        hint: 'see `cumulus sources list`; `cumulus doctor` checks every source',
      },
    );
  return { present, missing };
}
