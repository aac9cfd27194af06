/**
 * notSignedInServer is the AgentServer until this device signs in (or until the server
 * client is wired here): every call fails with the honest reason, 'unauthorized: not
 * signed in', which the conditions and the doctor report as "not signed in".
 */
import { CumulusError } from '../../core/errors.ts';
import type { AgentServer } from '../ports.ts';

export function notSignedInServer(): AgentServer {
  const fail = async (): Promise<never> => {
    throw new CumulusError('unauthorized', 'not signed in to a Cumulus server', {
      hint: 'run `cumulus login URL` to sign this device in',
    });
  };
  return {
    ping: fail,
    status: fail,
    session: fail,
    usage: fail,
    plans: fail,
    latestRelease: fail,
    reportOutcome: fail,
    reportProgress: fail,
    measureUpload: fail,
  };
}
