/** Who is making a request, as services see it. */
import type { Role } from '../../api/account.ts';

/** Caller is an authenticated device session. */
export interface Caller {
  accountId: string;
  deviceId: string;
  sessionId: string;
  role: Role;
  ip: string;
}

/** Actor is who an audit entry names: a device, an admin, or the local admin CLI. */
export interface Actor {
  actor: string;
  ip: string;
}

export function deviceActor(caller: Caller): Actor {
  return { actor: `device:${caller.deviceId}`, ip: caller.ip };
}

export function adminActor(caller: Caller): Actor {
  return { actor: `admin:${caller.accountId}`, ip: caller.ip };
}

/** LOCAL_ADMIN is the server's own CLI (`cumulus server ...`), run by whoever holds the data folder. */
export const LOCAL_ADMIN: Actor = { actor: 'cli', ip: 'local' };
