/** The signed-in account: its keys (sealed), password, TOTP, recovery key and sessions. */
import { type Static, Type } from 'typebox';
import { AccountKeys } from './auth.ts';
import {
  Email,
  Id,
  KdfParams,
  Key32,
  Ok,
  OptionalTimestamp,
  RepositoryConfig,
  Timestamp,
  WrappedKey,
} from './common.ts';
import { endpoint } from './endpoint.ts';

export const Role = Type.Union([Type.Literal('user'), Type.Literal('admin')]);
export type Role = Static<typeof Role>;

export const Account = Type.Object({
  id: Id,
  email: Email,
  role: Role,
  planId: Type.String(),
  totpEnabled: Type.Boolean(),
  /** False until the first device has created the account key. */
  keysReady: Type.Boolean(),
  /** Whether a recovery key can open the account key (the first device makes one; it can be replaced). */
  hasRecoveryKey: Type.Boolean(),
  createdAt: Timestamp,
});
export type Account = Static<typeof Account>;

/** RecoveryWrap is the recovery key's two halves as the server may see them. */
export const RecoveryWrap = Type.Object({
  /** Proof of the recovery key; the server stores only its hash. */
  authKey: Key32,
  /** The account key wrapped under the recovery key's wrap half. */
  wrappedKey: WrappedKey,
});

export const getAccount = endpoint({
  method: 'GET',
  url: '/api/account',
  summary: 'The signed-in account',
  tag: 'account',
  access: 'session',
  response: Account,
});

export const getKeys = endpoint({
  method: 'GET',
  url: '/api/account/keys',
  summary: 'The account key (wrapped under the password) and the repository config',
  tag: 'account',
  access: 'session',
  response: Type.Object({ keys: Type.Union([AccountKeys, Type.Null()]), kdf: KdfParams }),
});

export const setUpKeys = endpoint({
  method: 'PUT',
  url: '/api/account/keys',
  summary: 'First device only: store the new account key, wrapped, and the repository config',
  tag: 'account',
  access: 'session',
  body: Type.Object({ repositoryConfig: RepositoryConfig, wrappedKey: WrappedKey, recovery: RecoveryWrap }),
  response: Ok,
});

export const changePassword = endpoint({
  method: 'POST',
  url: '/api/account/password',
  summary: 'Replace the password: new salt, new auth key and the account key re-wrapped, in one step',
  tag: 'account',
  access: 'session',
  body: Type.Object({ currentAuthKey: Key32, kdf: KdfParams, authKey: Key32, wrappedKey: WrappedKey }),
  response: Ok,
});

export const replaceRecoveryKey = endpoint({
  method: 'POST',
  url: '/api/account/recovery-key',
  summary: 'Make a new recovery key; the old one stops working',
  tag: 'account',
  access: 'session',
  body: Type.Object({ authKey: Key32, recovery: RecoveryWrap }),
  response: Ok,
});

export const beginTotp = endpoint({
  method: 'POST',
  url: '/api/account/totp/begin',
  summary: 'Start enrolling an authenticator app: returns its secret, confirmed by a first code',
  tag: 'account',
  access: 'session',
  body: Type.Object({ authKey: Key32 }),
  response: Type.Object({ secret: Type.String(), uri: Type.String() }),
});

export const confirmTotp = endpoint({
  method: 'POST',
  url: '/api/account/totp/confirm',
  summary: 'Turn TOTP on with a first code from the app',
  tag: 'account',
  access: 'session',
  body: Type.Object({ code: Type.String({ pattern: '^[0-9]{6}$' }) }),
  response: Ok,
});

export const disableTotp = endpoint({
  method: 'POST',
  url: '/api/account/totp/disable',
  summary: 'Turn TOTP off',
  tag: 'account',
  access: 'session',
  body: Type.Object({ authKey: Key32 }),
  response: Ok,
});

export const SessionInfo = Type.Object({
  id: Id,
  deviceId: Id,
  deviceName: Type.String(),
  ip: Type.String(),
  createdAt: Timestamp,
  lastUsedAt: OptionalTimestamp,
  current: Type.Boolean(),
});
export type SessionInfo = Static<typeof SessionInfo>;

export const listSessions = endpoint({
  method: 'GET',
  url: '/api/account/sessions',
  summary: 'Devices signed in to this account',
  tag: 'account',
  access: 'session',
  response: Type.Object({ sessions: Type.Array(SessionInfo) }),
});

export const revokeSession = endpoint({
  method: 'DELETE',
  url: '/api/account/sessions/:sessionId',
  summary: 'Sign one session out',
  tag: 'account',
  access: 'session',
  params: Type.Object({ sessionId: Id }),
  response: Ok,
});

export const signOutAll = endpoint({
  method: 'POST',
  url: '/api/account/signout-all',
  summary: 'Sign out every other device (and this one too with includeCurrent)',
  tag: 'account',
  access: 'session',
  body: Type.Object({ includeCurrent: Type.Optional(Type.Boolean()) }),
  response: Type.Object({ revoked: Type.Integer() }),
});
