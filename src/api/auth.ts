/** Sign-in: password proof, then approval by a trusted device's code, TOTP or the recovery key. */
import { type Static, Type } from 'typebox';
import {
  Email,
  Id,
  KdfParams,
  Key32,
  Label,
  Name,
  Ok,
  RepositoryConfig,
  Timestamp,
  Version,
  WrappedKey,
} from './common.ts';
import { endpoint } from './endpoint.ts';

export const DeviceInfo = Type.Object({
  name: Name,
  platform: Label(50),
  agentVersion: Version,
});
export type DeviceInfo = Static<typeof DeviceInfo>;

/** AccountKeys is what a device needs to open the account's repository, all of it sealed. */
export const AccountKeys = Type.Object({
  repositoryConfig: RepositoryConfig,
  /** The account key wrapped under the password-derived wrap key. */
  wrappedKey: WrappedKey,
  /** The account key wrapped under the recovery key: only after a recovery-key sign-in. */
  recoveryWrappedKey: Type.Optional(WrappedKey),
});
export type AccountKeys = Static<typeof AccountKeys>;

export const Session = Type.Object({
  /** Opaque bearer token; the server keeps only its hash. */
  token: Type.String(),
  accountId: Id,
  deviceId: Id,
});

/** SignedIn ends a sign-in: `keys` is null for the first device, which must create them. */
export const SignedIn = Type.Object({
  status: Type.Literal('signed_in'),
  session: Session,
  keys: Type.Union([AccountKeys, Type.Null()]),
});
export type SignedIn = Static<typeof SignedIn>;

export const ApprovalMethod = Type.Union([
  Type.Literal('code'),
  Type.Literal('totp'),
  Type.Literal('recovery'),
]);
export type ApprovalMethod = Static<typeof ApprovalMethod>;

/** SecondFactor is how a device answers a pending sign-in: a trusted device's code, TOTP or the recovery key. */
export type SecondFactor =
  | { method: 'code'; code: string }
  | { method: 'totp'; code: string }
  | { method: 'recovery'; recoveryKey: string };

/** ApprovalRequired means the password was right and the device must now prove a second factor. */
export const ApprovalRequired = Type.Object({
  status: Type.Literal('approval_required'),
  /** Secret of this pending sign-in: only the device that started it can finish it. */
  signInToken: Type.String(),
  expiresAt: Timestamp,
  /** `code` when a trusted device can show the code, `totp` when enabled, `recovery` always. */
  methods: Type.Array(ApprovalMethod),
});
export type ApprovalRequired = Static<typeof ApprovalRequired>;

export const SignInToken = Type.String({ minLength: 40, maxLength: 100 });

export const prelogin = endpoint({
  method: 'POST',
  url: '/api/auth/prelogin',
  summary:
    'How to stretch the password of this email (the same answer shape whether the account exists or not)',
  tag: 'auth',
  access: 'public',
  body: Type.Object({ email: Email }),
  response: Type.Object({ kdf: KdfParams }),
});

export const login = endpoint({
  method: 'POST',
  url: '/api/auth/login',
  summary: 'Sign in with the password-derived auth key; a new device then needs approval',
  tag: 'auth',
  access: 'public',
  body: Type.Object({ email: Email, authKey: Key32, device: DeviceInfo }),
  response: Type.Union([SignedIn, ApprovalRequired]),
});

export const acceptInvite = endpoint({
  method: 'POST',
  url: '/api/auth/invite',
  summary:
    "Create an invited account with the new user's own password (its auth key): the invite works once, for its email",
  tag: 'auth',
  access: 'public',
  body: Type.Object({
    inviteToken: SignInToken,
    email: Email,
    kdf: KdfParams,
    authKey: Key32,
  }),
  response: Type.Object({ email: Email }),
});

export const completeWithCode = endpoint({
  method: 'POST',
  url: '/api/auth/sign-in/code',
  summary: 'Finish a sign-in with the 6-digit code shown on a trusted device',
  tag: 'auth',
  access: 'public',
  body: Type.Object({ signInToken: SignInToken, code: Type.String({ pattern: '^[0-9]{6}$' }) }),
  response: SignedIn,
});

export const completeWithTotp = endpoint({
  method: 'POST',
  url: '/api/auth/sign-in/totp',
  summary: 'Finish a sign-in with a code from the authenticator app',
  tag: 'auth',
  access: 'public',
  body: Type.Object({ signInToken: SignInToken, code: Type.String({ pattern: '^[0-9]{6}$' }) }),
  response: SignedIn,
});

export const completeWithRecoveryKey = endpoint({
  method: 'POST',
  url: '/api/auth/sign-in/recovery',
  summary: 'Finish a sign-in with the recovery key (its auth half; the wrap half never leaves the device)',
  tag: 'auth',
  access: 'public',
  body: Type.Object({ signInToken: SignInToken, recoveryAuthKey: Key32 }),
  response: SignedIn,
});

export const logout = endpoint({
  method: 'POST',
  url: '/api/auth/logout',
  summary: 'Sign this device out: its token stops working',
  tag: 'auth',
  access: 'session',
  response: Ok,
});

export const PendingApproval = Type.Object({
  id: Id,
  deviceName: Type.String(),
  platform: Type.String(),
  agentVersion: Type.String(),
  code: Type.String(),
  ip: Type.String(),
  createdAt: Timestamp,
  expiresAt: Timestamp,
});
export type PendingApproval = Static<typeof PendingApproval>;

export const listApprovals = endpoint({
  method: 'GET',
  url: '/api/approvals',
  summary: 'Sign-ins waiting for approval, with the codes to give the new devices',
  tag: 'auth',
  access: 'session',
  response: Type.Object({ approvals: Type.Array(PendingApproval) }),
});

export const denyApproval = endpoint({
  method: 'POST',
  url: '/api/approvals/:signInId/deny',
  summary: 'Refuse a pending sign-in (it was not you)',
  tag: 'auth',
  access: 'session',
  params: Type.Object({ signInId: Id }),
  response: Ok,
});

export const currentSession = endpoint({
  method: 'GET',
  url: '/api/auth/session',
  summary:
    "Whether this device's session works; a 401's details.reason says why not (revoked, device_removed)",
  tag: 'auth',
  access: 'session',
  response: Type.Object({
    accountId: Id,
    deviceId: Id,
    sessionId: Id,
    email: Email,
    role: Type.Union([Type.Literal('user'), Type.Literal('admin')]),
    /** The server's clock, so a device can notice its own clock is off. */
    serverTime: Timestamp,
  }),
});
