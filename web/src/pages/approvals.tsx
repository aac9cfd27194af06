/**
 * Approvals: sign-ins waiting for this account's approval, each with the 6-digit code to
 * type on the new device (what `cumulus approve` shows), and a button to refuse one.
 */
import { useState } from 'react';
import { denyApproval, listApprovals } from '../../../src/api/auth.ts';
import { messageOf } from '../api.ts';
import { formatTime } from '../format.ts';
import type { Session } from '../session.ts';
import { useLoad } from '../use-load.ts';

export function Approvals(props: { session: Session }) {
  const { api } = props.session;
  const approvals = useLoad(() => api.call(listApprovals, {}), [api], 5_000);
  const [error, setError] = useState<string>();
  const list = approvals.value?.approvals ?? [];
  const deny = async (id: string) => {
    try {
      await api.call(denyApproval, { params: { signInId: id } });
      approvals.reload();
    } catch (failure) {
      setError(messageOf(failure));
    }
  };
  if (list.length === 0 && !approvals.error && !error) return null;
  return (
    <section aria-labelledby="approvals-title" className="card">
      <h2 id="approvals-title">Sign-in requests</h2>
      {(approvals.error || error) && <p role="alert">{approvals.error ?? error}</p>}
      <ul className="plain">
        {list.map((a) => (
          <li key={a.id} data-approval={a.deviceName}>
            <p>
              <strong>{a.deviceName}</strong> ({a.platform}, from {a.ip}) wants to sign in. If that is you,
              type this code there: <code className="code">{a.code}</code>
            </p>
            <p className="muted">
              Asked {formatTime(a.createdAt)} · expires {formatTime(a.expiresAt)}
            </p>
            <button type="button" className="secondary" onClick={() => deny(a.id)}>
              Not me: refuse {a.deviceName}
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}
