/**
 * BackupRequests carry "back up now" from `cumulus backup` to the running agent, so one
 * process backs the device up and writes its state: the command drops a request file in
 * the agent's state folder (the agent's wakeups see it at once), the agent takes it and runs the
 * backup, and records the result under the request's id in the state file, where the
 * command follows the progress and reads the result.
 */
import { randomUUID } from 'node:crypto';
import { access, readFile, rename, rm } from 'node:fs/promises';
import { writeJsonFile } from './json-file.ts';
import type { BackupOutcome } from './ports.ts';

export interface BackupRequest {
  id: string;
  requestedAt: number;
}

/** RequestResult is how the agent ended a requested backup, as the state file records it. */
export type RequestResult =
  | { id: string; kind: 'completed'; outcome: BackupOutcome }
  | { id: string; kind: 'failed'; code: string; message: string; hint?: string }
  | { id: string; kind: 'stopped'; message: string };

export class BackupRequests {
  readonly path: string;

  constructor(path: string) {
    this.path = path;
  }

  /** submit leaves a request for the agent and returns it; a newer request replaces one not yet taken. */
  async submit(now: number): Promise<BackupRequest> {
    const request: BackupRequest = { id: randomUUID(), requestedAt: now };
    await writeJsonFile(this.path, request);
    return request;
  }

  /**
   * take returns the waiting request and removes it, or undefined. It renames the file
   * first, so a request submitted while it reads is not deleted unseen.
   */
  async take(): Promise<BackupRequest | undefined> {
    const taken = `${this.path}.${process.pid}.taken`;
    try {
      await rename(this.path, taken);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    try {
      const request = JSON.parse(await readFile(taken, 'utf8')) as Partial<BackupRequest>;
      return typeof request.id === 'string' && typeof request.requestedAt === 'number'
        ? { id: request.id, requestedAt: request.requestedAt }
        : undefined;
    } catch {
      return undefined; // A torn request file is dropped; the command times out and says so.
    } finally {
      await rm(taken, { force: true });
    }
  }

  /** pending says whether a request waits for the agent. */
  async pending(): Promise<boolean> {
    try {
      await access(this.path);
      return true;
    } catch {
      return false;
    }
  }
}
