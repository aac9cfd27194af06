/**
 * The console's troubleshooter, the device's half: the latest `cumulus doctor` result, every
 * check with its status, evidence and steps, sent to the server sealed under the account
 * key (AgentServer.shareDoctorResult; src/client/sealed-report.ts), so only the owner's
 * devices and browsers can read it. The server learns its size and when it came, no more.
 *
 * When: after every `cumulus doctor` run, and from the running agent when a backup fails or
 * starts waiting for a new reason (what the owner then opens the console to understand),
 * at most once per TROUBLESHOOTER_EVERY_MS: a doctor run measures the upload and walks the
 * sources, too much to repeat at each of the scheduler's evaluations.
 */
import type { DoctorResult } from '../api/devices.ts';
import type { DoctorReport } from './doctor/doctor.ts';
import type { AgentServer, Clock, DeviceStatePort } from './ports.ts';

/** The evidence and steps kept per check, so a result always fits the server's bound. */
const EVIDENCE_LINES = 8;
const FIX_STEPS = 8;
const LINE_CHARS = 400;

export const TROUBLESHOOTER_EVERY_MS = 30 * 60_000;

function line(text: string): string {
  return text.length > LINE_CHARS ? `${text.slice(0, LINE_CHARS - 1)}…` : text;
}

/** doctorResult is a doctor report as the troubleshooter shows it, bounded line by line. */
export function doctorResult(report: DoctorReport, deviceId: string, at: number): DoctorResult {
  return {
    version: 1,
    deviceId,
    at: new Date(at).toISOString(),
    ok: report.ok,
    checks: report.checks.map((check) => ({
      id: check.id,
      title: check.title,
      status: check.status,
      evidence: [
        ...check.evidence.slice(0, EVIDENCE_LINES).map(line),
        ...(check.evidence.length > EVIDENCE_LINES
          ? [`… ${check.evidence.length - EVIDENCE_LINES} more line(s): cumulus doctor on the device`]
          : []),
      ],
      ...(check.fix && { fix: check.fix.slice(0, FIX_STEPS).map(line) }),
      ...(check.blockedBy && { blockedBy: check.blockedBy }),
      ...(check.autoFix && { autoFix: line(check.autoFix.description) }),
    })),
  };
}

export interface ShareDeps {
  clock: Clock;
  server: Pick<AgentServer, 'shareDoctorResult'>;
  deviceState: Pick<DeviceStatePort, 'read'>;
}

/** shareDoctorReport sends a doctor report for the console; false when the device is not signed in. */
export async function shareDoctorReport(deps: ShareDeps, report: DoctorReport): Promise<boolean> {
  const identity = await deps.deviceState.read();
  if (identity === null) return false;
  await deps.server.shareDoctorResult(doctorResult(report, identity.deviceId, deps.clock.now()));
  return true;
}

/**
 * Troubleshooter runs the doctor in the agent and shares the result when the scheduler
 * says a backup failed or waits for a new reason: one run at a time, at most one per
 * `everyMs`; a request meanwhile is dropped (the next trouble asks again).
 */
export class Troubleshooter {
  readonly #run: () => Promise<DoctorReport>;
  readonly #deps: ShareDeps;
  readonly #everyMs: number;
  #lastAt = Number.NEGATIVE_INFINITY;
  #running: Promise<void> | undefined;

  constructor(run: () => Promise<DoctorReport>, deps: ShareDeps, everyMs = TROUBLESHOOTER_EVERY_MS) {
    this.#run = run;
    this.#deps = deps;
    this.#everyMs = everyMs;
  }

  request(): void {
    const now = this.#deps.clock.now();
    if (this.#running || now - this.#lastAt < this.#everyMs) return;
    this.#lastAt = now;
    this.#running = (async () => {
      try {
        await shareDoctorReport(this.#deps, await this.#run());
      } catch {
        // Offline or signed out: the console keeps the last result, with its time.
      } finally {
        this.#running = undefined;
      }
    })();
  }

  /** idle resolves when no run is under way (for a clean shutdown). */
  async idle(): Promise<void> {
    await this.#running;
  }
}
