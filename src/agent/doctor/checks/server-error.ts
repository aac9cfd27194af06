/**
 * serverErrorResult turns a failed server call into a check result: not signed in is a
 * skip (the sign-in check reports it), a server that does not answer is a failure.
 */
import { isCumulusError } from '../../../core/errors.ts';
import type { CheckId, CheckResult } from '../types.ts';

export function serverErrorResult(id: CheckId, title: string, error: Error): CheckResult {
  if (isCumulusError(error, 'unauthorized')) {
    return {
      id,
      title,
      status: 'skip',
      evidence: [`cannot ask the server: ${error.message} (see the sign-in check)`],
    };
  }
  return {
    id,
    title,
    status: 'fail',
    evidence: [`the server did not answer: ${error.message}`],
    fix: [
      'Check the network check above.',
      'If the network is fine, the server may be down: ask its admin, or try again later.',
    ],
  };
}
