/**
 * The doctor's last upload measurement, in its own file beside the agent's state (the
 * daemon rewrites state.json all the time; a doctor writing it too could lose an update).
 * The server allows each session a few measurements an hour, so the doctor measures again
 * only after a cool-down, and reuses the last one, with its age, while the server refuses
 * a new one: a doctor run again and again never turns a healthy link into a warning.
 */
import { readJsonFile, writeJsonFile } from '../json-file.ts';

export interface UploadMeasurement {
  at: number;
  bytesPerSecond: number;
  /** The link it was measured on ("wifi (wlan0)"): a measurement on another link is not reused by choice. */
  link: string;
}

/** DEFAULT_UPLOAD_COOL_DOWN_MS keeps the doctor at six measurements an hour, half of what the server allows. */
export const DEFAULT_UPLOAD_COOL_DOWN_MS = 10 * 60_000;

/** readUploadMeasurement returns the last measurement, or null when there is none or it is unreadable. */
export async function readUploadMeasurement(path: string): Promise<UploadMeasurement | null> {
  try {
    const raw = (await readJsonFile(path)) as Partial<UploadMeasurement> | undefined;
    if (
      typeof raw?.at === 'number' &&
      typeof raw.bytesPerSecond === 'number' &&
      raw.bytesPerSecond > 0 &&
      typeof raw.link === 'string'
    )
      return { at: raw.at, bytesPerSecond: raw.bytesPerSecond, link: raw.link };
  } catch {
    // A torn file only costs one measurement.
  }
  return null;
}

export function writeUploadMeasurement(path: string, measurement: UploadMeasurement): Promise<void> {
  return writeJsonFile(path, measurement);
}
