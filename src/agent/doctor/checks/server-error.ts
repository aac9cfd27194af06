/**
 * serverErrorVerdict turns a failed server answer into a check's verdict: when another
 * check owns the fault (offline, not signed in, the server not answering, an agent too
 * old) a skip naming it; any other error from the server is a failure of this check.
 */
import { blocked, blockerOf } from '../blocked.ts';
import type { Verdict } from '../types.ts';

export function serverErrorVerdict(error: Error): Verdict {
  const blocker = blockerOf(error);
  if (blocker) return blocked(blocker, 'cannot ask the server', error);
  return {
    status: 'fail',
    evidence: [`the server did not answer: ${error.message}`],
    fix: [
      'Check the network check above.',
      'If the network is fine, the server may be down: ask its admin, or try again later.',
    ],
  };
}
