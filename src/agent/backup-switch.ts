/**
 * BackupSwitch is the device's "backup on/off" switch, kept apart from the settings so
 * `settings reset` never turns backups off. Off until `cumulus enable`.
 */
import { readJsonFile, writeJsonFile } from './json-file.ts';

export interface SwitchState {
  enabled: boolean;
  changedAt: number | null;
  /** Why the switch file could not be read, when it could not: the switch then counts as off. */
  damaged?: string;
}

export class BackupSwitch {
  readonly path: string;

  constructor(path: string) {
    this.path = path;
  }

  async read(): Promise<SwitchState> {
    let raw: unknown;
    try {
      raw = await readJsonFile(this.path);
    } catch (error) {
      // An unreadable switch file means nobody can tell it was switched on: it is off.
      return { enabled: false, changedAt: null, damaged: `${this.path}: ${(error as Error).message}` };
    }
    const data = raw as Partial<SwitchState> | undefined;
    return {
      enabled: data?.enabled === true,
      changedAt: typeof data?.changedAt === 'number' ? data.changedAt : null,
    };
  }

  async write(enabled: boolean, at: number): Promise<SwitchState> {
    const state = { enabled, changedAt: at };
    await writeJsonFile(this.path, state);
    return state;
  }
}
