/**
 * scanOnlyRunner is the BackupRunner while no backup engine is connected to the agent:
 * `predict` is a real dry scan that counts every file as new (an upper bound: the engine
 * skips what is already stored), and `run` refuses with the honest reason.
 */
import { CumulusError } from '../../core/errors.ts';
import type { BackupRunner, BackupSource, Prediction } from '../ports.ts';
import { scanSource } from '../source-scan.ts';

export function scanOnlyRunner(): BackupRunner {
  return {
    async run(): Promise<never> {
      throw new CumulusError(
        'usage',
        'this build of the agent cannot run automatic backups: no backup engine is connected to it',
        {
          hint: 'back up by hand with `cumulus backup`; `cumulus doctor` still checks everything else',
        },
      );
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
