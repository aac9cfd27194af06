/**
 * ConsoleSync is the running agent's link to the web console. Every few seconds
 * (SYNC_EVERY_MS) it tells the server this device's backup switch and when the next
 * backup is due, and learns what the owner asked in the console: the switch and Back Up
 * Now. The switch is one state kept by the server: a change on the device (`cumulus
 * enable`/`disable`, which leave it unsynced) goes up at the next sync, a change in the
 * console comes down; the server orders them by when they reach it, so neither machine's
 * clock decides.
 *
 * A poll of its own, not an answer piggybacked on the progress reports: progress flows
 * only while a backup runs, and Back Up Now matters most when none does. The poll is one
 * small request (12 a minute against a session's 1,200) and one indexed update on the
 * server; a long poll would hold a connection open per device to save those.
 *
 * A Back Up Now it learns of goes into the same local request file `cumulus backup` uses
 * (src/agent/backup-request.ts): the scheduler's watch sees it at once and runs it as a
 * requested backup, so it skips the schedule and the wait conditions (power, the locked or
 * idle screen, a metered link) as a Back Up Now on the device does. What a backup cannot do
 * without still stops it: the server refuses the request of a device signed out or switched
 * off, and a full storage fails the backup with what it needs against what is free.
 */
import { SYNC_EVERY_MS } from '../api/devices.ts';
import type { BackupRequests } from './backup-request.ts';
import type { BackupSwitch } from './backup-switch.ts';
import type { AgentServer, Clock, DeviceStatePort, SwitchSync, SyncAnswer, SyncReport } from './ports.ts';
import type { StateStore } from './state.ts';

export interface ConsoleSyncDeps {
  clock: Clock;
  server: Pick<AgentServer, 'sync'>;
  deviceState: Pick<DeviceStatePort, 'read'>;
  backupSwitch: Pick<BackupSwitch, 'read' | 'write'>;
  state: Pick<StateStore, 'read' | 'update'>;
  requests: Pick<BackupRequests, 'submit'>;
}

export class ConsoleSync {
  readonly #deps: ConsoleSyncDeps;
  /** The requestedAt of the last console request handed to the scheduler, so it is not run twice. */
  #taken: number | undefined;

  constructor(deps: ConsoleSyncDeps) {
    this.#deps = deps;
  }

  /** once is one sync; it throws what the server call throws (offline, signed out). */
  async once(): Promise<void> {
    const { clock, server, backupSwitch, state } = this.#deps;
    if ((await this.#deps.deviceState.read()) === null) return;
    const [local, agentState] = await Promise.all([backupSwitch.read(), state.read(clock.now())]);
    const agreed = agentState.switchSynced ?? null;
    const changed =
      agreed === null || agreed.enabled !== local.enabled || agreed.changedAt !== local.changedAt;
    const report: SyncReport = {
      backup: { enabled: local.enabled, changed },
      nextDueAt: agentState.nextDueAt,
      ...(this.#taken !== undefined && { takenRequestAt: this.#taken }),
    };
    const answer = await server.sync(report);
    await this.#applySwitch(answer, local, agreed);
    await this.#takeRequest(answer, report);
  }

  /** #applySwitch writes the server's switch on the device and remembers it as agreed. */
  async #applySwitch(answer: SyncAnswer, local: SwitchSync, agreed: SwitchSync | null): Promise<void> {
    const { clock, backupSwitch, state } = this.#deps;
    const current = await backupSwitch.read();
    // Switched on the device meanwhile: that change goes up at the next sync.
    if (current.enabled !== local.enabled || current.changedAt !== local.changedAt) return;
    let applied: SwitchSync = { enabled: local.enabled, changedAt: local.changedAt };
    if (answer.backup.enabled !== local.enabled) {
      const written = await backupSwitch.write(answer.backup.enabled, answer.backup.changedAt ?? clock.now());
      applied = { enabled: written.enabled, changedAt: written.changedAt };
    }
    if (agreed?.enabled !== applied.enabled || agreed.changedAt !== applied.changedAt) {
      // Kept in the state file, which the scheduler's watch ignores: a sync wakes nothing.
      await state.update(clock.now(), (s) => {
        s.switchSynced = applied;
      });
    }
  }

  /** #takeRequest hands a console Back Up Now not taken yet to the scheduler and tells the server at once. */
  async #takeRequest(answer: SyncAnswer, report: SyncReport): Promise<void> {
    const { clock, server, requests } = this.#deps;
    const request = answer.backupRequest;
    if (request && request.requestedAt !== this.#taken) {
      await requests.submit(clock.now());
      this.#taken = request.requestedAt;
      // Said at once, so the console turns from "requested" to the backup's progress.
      await server.sync({
        ...report,
        backup: { ...report.backup, changed: false },
        takenRequestAt: request.requestedAt,
      });
    }
  }

  /** run syncs until `signal` aborts; a failed sync (offline, server down) waits for the next. */
  async run(signal: AbortSignal, everyMs = SYNC_EVERY_MS): Promise<void> {
    while (!signal.aborted) {
      await this.once().catch(() => {});
      try {
        await this.#deps.clock.sleep(everyMs, signal);
      } catch {
        return;
      }
    }
  }
}
