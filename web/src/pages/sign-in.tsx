/**
 * SignInPage: email and password, then the second factor a new browser needs: the 6-digit
 * code a trusted device shows (`cumulus approve`), a TOTP code, or the recovery key. Keys
 * are derived and opened in this page; the password is never sent.
 */
import { type FormEvent, useState } from 'react';
import type { ApprovalMethod, SecondFactor } from '../../../src/api/auth.ts';
import { messageOf } from '../api.ts';
import { CodeInput } from '../code-input.tsx';
import { formatTime } from '../format.ts';
import { browserDevice, type PendingSignIn, type Session, signIn } from '../session.ts';

const METHOD_LABEL: Record<ApprovalMethod, string> = {
  code: 'Code from a trusted device',
  totp: 'Authenticator app',
  recovery: 'Recovery key',
};

export function SignInPage(props: { onSignedIn(session: Session): void }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [deviceName, setDeviceName] = useState('Web console');
  const [pending, setPending] = useState<PendingSignIn>();
  const [busy, setBusy] = useState<string>();
  const [error, setError] = useState<string>();

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(undefined);
    setBusy('Checking the password…');
    try {
      const result = await signIn(email, password, browserDevice(deviceName));
      if ('complete' in result) setPending(result);
      else props.onSignedIn(result);
    } catch (failure) {
      setError(messageOf(failure));
    } finally {
      setPassword('');
      setBusy(undefined);
    }
  };

  if (pending)
    return (
      <SecondFactorForm
        pending={pending}
        onSignedIn={props.onSignedIn}
        onCancel={() => setPending(undefined)}
      />
    );
  return (
    <section aria-labelledby="sign-in-title" className="narrow">
      <h1 id="sign-in-title">Sign in</h1>
      <p className="muted">
        Your password stays in this browser: it is stretched here, and only a proof of it is sent.
      </p>
      <form onSubmit={submit} className="card form">
        <label>
          Email
          <input
            type="email"
            autoComplete="username"
            required
            value={email}
            onChange={(e) => setEmail(e.target.value)}
          />
        </label>
        <label>
          Password
          <input
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </label>
        <label>
          Name of this browser
          <input
            required
            maxLength={100}
            value={deviceName}
            onChange={(e) => setDeviceName(e.target.value)}
          />
        </label>
        <button type="submit" disabled={busy !== undefined}>
          Sign in
        </button>
        {busy && <p role="status">{busy}</p>}
        {error && <p role="alert">{error}</p>}
      </form>
    </section>
  );
}

function SecondFactorForm(props: {
  pending: PendingSignIn;
  onSignedIn(session: Session): void;
  onCancel(): void;
}) {
  const { pending } = props;
  const [method, setMethod] = useState<ApprovalMethod>(pending.methods[0]);
  const [answer, setAnswer] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(undefined);
    setBusy(true);
    const factor: SecondFactor =
      method === 'recovery' ? { method, recoveryKey: answer } : { method, code: answer.replace(/\s/g, '') };
    try {
      props.onSignedIn(await pending.complete(factor));
    } catch (failure) {
      setError(messageOf(failure));
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="approve-title" className="narrow">
      <h1 id="approve-title">Approve this browser</h1>
      <p>
        The password is right. A new browser also needs one of these, before {formatTime(pending.expiresAt)}:
      </p>
      <form onSubmit={submit} className="card form">
        <fieldset>
          <legend>How to approve</legend>
          {pending.methods.map((m) => (
            <label key={m} className="choice">
              <input
                type="radio"
                name="method"
                value={m}
                checked={method === m}
                onChange={() => {
                  setMethod(m);
                  setAnswer('');
                }}
              />
              {METHOD_LABEL[m]}
            </label>
          ))}
        </fieldset>
        {method === 'code' && (
          <p className="muted">
            On a signed-in device run <code>cumulus approve</code> (or open this console there): it shows a
            6-digit code next to this browser's name.
          </p>
        )}
        {method === 'recovery' ? (
          <label>
            Recovery key
            <input
              autoComplete="off"
              spellCheck={false}
              required
              value={answer}
              onChange={(e) => setAnswer(e.target.value)}
            />
          </label>
        ) : (
          <CodeInput
            label={method === 'code' ? '6-digit code' : 'Code from the app'}
            value={answer}
            onChange={setAnswer}
          />
        )}
        <div className="buttons">
          <button type="submit" disabled={busy}>
            Approve
          </button>
          <button type="button" className="secondary" onClick={props.onCancel}>
            Start over
          </button>
        </div>
        {busy && <p role="status">Checking…</p>}
        {error && <p role="alert">{error}</p>}
      </form>
    </section>
  );
}
