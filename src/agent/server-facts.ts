/**
 * gatherServerFacts asks the server what the conditions need (session, reachability,
 * quota, service status), turning every failure into a fact instead of an error.
 */
import { isCumulusError } from '../core/errors.ts';
import type { ServerFacts } from './conditions.ts';
import type { AgentServer, DeviceStatePort } from './ports.ts';
import type { Settings } from './settings.ts';

export async function gatherServerFacts(
  server: AgentServer,
  deviceState: DeviceStatePort,
  settings: Settings,
): Promise<ServerFacts> {
  const identity = await deviceState.read().catch(() => null);
  if (!identity) return { signedIn: false };
  try {
    const latencyMs = await server.ping();
    const session = await server.session();
    if (session.deviceRemoved) {
      return {
        signedIn: false,
        sessionProblem: 'this device was removed from the account',
        reachable: true,
        latencyMs,
      };
    }
    if (!session.valid || session.revoked) {
      return {
        signedIn: false,
        sessionProblem: 'signed out: the session was revoked',
        reachable: true,
        latencyMs,
      };
    }
    const facts: ServerFacts = { signedIn: true, reachable: true, latencyMs };
    if (settings.checks.quota) {
      const usage = await server.usage();
      facts.quota = { usedBytes: usage.usedBytes, quotaBytes: usage.plan.quotaBytes };
    }
    if (settings.checks.serviceStatus) facts.serviceStatus = (await server.status()).overall;
    return facts;
  } catch (error) {
    if (isCumulusError(error, 'unauthorized')) {
      return { signedIn: false, sessionProblem: `signed out: ${error.message}`, reachable: true };
    }
    return { signedIn: true, reachable: false, unreachableReason: (error as Error).message };
  }
}
