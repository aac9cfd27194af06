/** checkSignIn: signed in, the session valid and not revoked, the account key present and opening the repository, the clock not skewed. */
import { formatDuration } from '../../format.ts';
import { blocked, blockerOf } from '../blocked.ts';
import type { DoctorFacts } from '../facts.ts';
import { failed } from '../facts.ts';
import type { Verdict } from '../types.ts';

const MAX_SKEW_MS = 5 * 60_000;

export async function checkSignIn(facts: DoctorFacts): Promise<Verdict> {
  const identity = await facts.identity();
  if (failed(identity) || identity === null) {
    return {
      status: 'fail',
      evidence: [
        failed(identity)
          ? `cannot read the sign-in state: ${identity.error.message}`
          : 'this device is not signed in',
      ],
      fix: ['Sign in: cumulus login URL (approve it with the code shown on a trusted device).'],
    };
  }
  const relogin = [
    `Sign in again: cumulus login ${identity.serverUrl}`,
    'Approve the sign-in with the code shown on one of your trusted devices.',
  ];
  const evidence = [`signed in to ${identity.serverUrl} as device ${identity.deviceName}`];
  const session = await facts.session();
  if (failed(session)) {
    const blocker = blockerOf(session.error);
    if (blocker !== undefined && blocker !== 'sign-in')
      return blocked(blocker, 'could not check the session', session.error, evidence);
    if (blocker === 'sign-in') {
      return {
        status: 'fail',
        evidence: [...evidence, `the server refuses the session: ${session.error.message}`],
        fix: relogin,
      };
    }
    return {
      status: 'warn',
      evidence: [...evidence, `could not check the session: ${session.error.message}`],
    };
  }
  if (session.revoked || !session.valid) {
    return {
      status: 'fail',
      evidence: [...evidence, 'the session was revoked (signed out from another device or the console)'],
      fix: relogin,
    };
  }
  evidence.push('session valid');
  let key: Awaited<ReturnType<typeof facts.deps.deviceState.verifyKey>>;
  try {
    key = await facts.deps.deviceState.verifyKey();
  } catch (error) {
    const blocker = blockerOf(error as Error);
    if (blocker !== undefined && blocker !== 'sign-in')
      return blocked(
        blocker,
        'could not open the repository to test the account key',
        error as Error,
        evidence,
      );
    return {
      status: 'warn',
      evidence: [
        ...evidence,
        `could not open the repository to test the account key: ${(error as Error).message}`,
      ],
    };
  }
  if (!key.ok) {
    return {
      status: 'fail',
      evidence: [...evidence, `the account key cannot open the repository: ${key.problem}`],
      fix: relogin,
    };
  }
  evidence.push(key.detail ?? 'account key present and opens the repository');
  const skew = facts.deps.clock.now() - session.serverTime;
  if (Math.abs(skew) > MAX_SKEW_MS) {
    return {
      status: 'fail',
      evidence: [
        ...evidence,
        `this device's clock is ${formatDuration(Math.abs(skew))} ${skew > 0 ? 'ahead of' : 'behind'} the server's`,
      ],
      fix: ['Set the clock automatically (on Linux: timedatectl set-ntp true).'],
    };
  }
  evidence.push(`clock within ${formatDuration(Math.abs(skew))} of the server's`);
  return { status: 'ok', evidence };
}
