/**
 * Faults that stand in another check's way. A measurement the doctor cannot make because
 * of a fault some check owns — offline, not signed in, a server that does not answer, an
 * agent the server refuses — fails naming that check, so the checks that need it say
 * `skip` and point at the cause instead of flagging an echo of it.
 */
import { isCumulusError } from '../../core/errors.ts';
import type { CheckId, CheckResult, Verdict } from './types.ts';

/** BlockedError is a measurement that the fault of the check `blocker` prevents. */
export class BlockedError extends Error {
  readonly blocker: CheckId;

  constructor(blocker: CheckId, message: string) {
    super(message);
    this.blocker = blocker;
  }
}

/** blockerOf names the check that owns the fault behind a failed measurement, if one does. */
export function blockerOf(error: Error): CheckId | undefined {
  if (error instanceof BlockedError) return error.blocker;
  if (isCumulusError(error, 'unauthorized')) return 'sign-in';
  if (isCumulusError(error, 'update_required')) return 'update';
  if (isCumulusError(error, 'network')) return 'network';
  return undefined;
}

/** blocked is the verdict of a check that cannot run: skip, naming the check whose fault stops it. */
export function blocked(blocker: CheckId, what: string, error: Error, evidence: string[] = []): Verdict {
  return {
    status: 'skip',
    blockedBy: blocker,
    evidence: [...evidence, `${what}: ${error.message} (see the ${blocker} check)`],
  };
}

/**
 * settleBlockers lets a skip stand only behind a flagged check: it follows a chain of
 * blockers to the one that failed or warned, and turns a skip whose blocker found no
 * fault into a warning, since then nothing else explains why the check could not run.
 */
export function settleBlockers(results: CheckResult[]): void {
  const byId = new Map(results.map((r) => [r.id, r]));
  for (const result of results) {
    if (result.blockedBy === undefined) continue;
    const seen = new Set([result.id]);
    let blocker = byId.get(result.blockedBy);
    while (blocker?.blockedBy !== undefined && !seen.has(blocker.id)) {
      seen.add(blocker.id);
      blocker = byId.get(blocker.blockedBy);
    }
    if (blocker && (blocker.status === 'fail' || blocker.status === 'warn')) {
      result.blockedBy = blocker.id;
      continue;
    }
    result.evidence.push(`the ${result.blockedBy} check found no fault that explains this`);
    result.status = 'warn';
    delete result.blockedBy;
  }
}
