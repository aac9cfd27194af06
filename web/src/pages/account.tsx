/**
 * AccountPage, Account and security: change the password, turn two-factor sign-in (TOTP)
 * on or off, replace the recovery key, and see the signed-in devices with a sign-out for
 * each and for all. Every change to a secret asks for the current password, proved here
 * (web/src/account-security.ts); every step that cannot be undone asks first.
 */
import { type FormEvent, useState } from 'react';
import * as account from '../../../src/api/account.ts';
import { beginTotp, changePassword, disableTotp, replaceRecoveryKey } from '../account-security.ts';
import { Card, useAction } from '../action.tsx';
import { CodeInput } from '../code-input.tsx';
import { ConfirmDialog } from '../confirm.tsx';
import { formatTime } from '../format.ts';
import type { Session } from '../session.ts';
import { useLoad } from '../use-load.ts';

export function AccountPage(props: { session: Session; onSessionEnded(): void }) {
  const { session } = props;
  const details = useLoad(() => session.api.call(account.getAccount, {}), [session]);
  return (
    <section aria-labelledby="account-title">
      <h1 id="account-title">Account and security</h1>
      {details.error && <p role="alert">{details.error}</p>}
      <PasswordSection session={session} />
      {details.value && (
        <TotpSection session={session} enabled={details.value.totpEnabled} onChanged={details.reload} />
      )}
      {details.value && (
        <RecoverySection session={session} exists={details.value.hasRecoveryKey} onChanged={details.reload} />
      )}
      <SessionsSection session={session} onSessionEnded={props.onSessionEnded} />
    </section>
  );
}

function PasswordInput(props: {
  label: string;
  value: string;
  onChange(value: string): void;
  autoComplete: 'current-password' | 'new-password';
}) {
  return (
    <label>
      {props.label}
      <input
        type="password"
        required
        autoComplete={props.autoComplete}
        value={props.value}
        onChange={(e) => props.onChange(e.target.value)}
      />
    </label>
  );
}

/** CurrentPasswordForm asks for the current password before a change to a secret. */
function CurrentPasswordForm(props: {
  password: string;
  onPassword(value: string): void;
  submit: string;
  action: ReturnType<typeof useAction>;
  onSubmit(): void;
}) {
  return (
    <form
      className="form"
      onSubmit={(event) => {
        event.preventDefault();
        props.onSubmit();
      }}
    >
      <PasswordInput
        label="Current password"
        autoComplete="current-password"
        value={props.password}
        onChange={props.onPassword}
      />
      <div className="buttons">
        <button type="submit" disabled={props.action.busy}>
          {props.submit}
        </button>
      </div>
      {props.action.feedback}
    </form>
  );
}

function PasswordSection(props: { session: Session }) {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [again, setAgain] = useState('');
  const action = useAction();
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void action.run('Stretching both passwords and re-wrapping the account key…', async () => {
      if (next !== again) throw new Error('The new passwords differ: type the same one twice.');
      await changePassword(props.session, { current, next });
      setCurrent('');
      setNext('');
      setAgain('');
      return 'Password changed. Sign in with the new one from now on; signed-in devices stay signed in.';
    });
  };
  return (
    <Card id="password-title" title="Password">
      <p className="muted">
        The password never leaves this browser: the account key is re-wrapped here under the new one, and the
        server swaps the proof and the wrapped key together, or not at all.
      </p>
      <form className="form" onSubmit={submit}>
        <PasswordInput
          label="Current password"
          autoComplete="current-password"
          value={current}
          onChange={setCurrent}
        />
        <PasswordInput label="New password" autoComplete="new-password" value={next} onChange={setNext} />
        <PasswordInput
          label="New password again"
          autoComplete="new-password"
          value={again}
          onChange={setAgain}
        />
        <div className="buttons">
          <button type="submit" disabled={action.busy}>
            Change password
          </button>
        </div>
        {action.feedback}
      </form>
    </Card>
  );
}

function TotpSection(props: { session: Session; enabled: boolean; onChanged(): void }) {
  const [password, setPassword] = useState('');
  const [enrolment, setEnrolment] = useState<{ secret: string; uri: string }>();
  const [code, setCode] = useState('');
  const [confirming, setConfirming] = useState(false);
  const action = useAction();

  const start = () => {
    if (props.enabled) {
      setConfirming(true);
      return;
    }
    void action.run('Checking the password…', async () => {
      setEnrolment(await beginTotp(props.session, password));
      setPassword('');
      return undefined;
    });
  };
  const confirm = (event: FormEvent) => {
    event.preventDefault();
    void action.run('Checking the code…', async () => {
      await props.session.api.call(account.confirmTotp, { body: { code: code.replace(/\s/g, '') } });
      setEnrolment(undefined);
      setCode('');
      props.onChanged();
      return 'Two-factor sign-in is on: a new device or browser can now be approved with a code from the app.';
    });
  };
  const turnOff = () => {
    setConfirming(false);
    void action.run('Checking the password…', async () => {
      await disableTotp(props.session, password);
      setPassword('');
      props.onChanged();
      return 'Two-factor sign-in is off.';
    });
  };

  return (
    <Card id="totp-title" title="Two-factor sign-in">
      <p data-testid="totp-state">
        {props.enabled
          ? 'On: a new device can be approved with a code from your authenticator app.'
          : 'Off: a new device is approved from a signed-in device or with the recovery key.'}
      </p>
      {enrolment ? (
        <form className="form" onSubmit={confirm}>
          <p>
            Add this account to your authenticator app with the setup key below (or open the link on the phone
            that has the app), then type the code it shows.
          </p>
          <dl className="facts">
            <dt>Setup key</dt>
            <dd>
              <code data-testid="totp-secret">{enrolment.secret}</code>
            </dd>
            <dt>Link</dt>
            <dd>
              <a href={enrolment.uri} data-testid="totp-uri">
                Open in the authenticator app
              </a>
            </dd>
          </dl>
          <CodeInput label="Code from the app" value={code} onChange={setCode} />
          <div className="buttons">
            <button type="submit" disabled={action.busy}>
              Turn on two-factor sign-in
            </button>
            <button type="button" className="secondary" onClick={() => setEnrolment(undefined)}>
              Cancel
            </button>
          </div>
          {action.feedback}
        </form>
      ) : (
        <CurrentPasswordForm
          password={password}
          onPassword={setPassword}
          submit={props.enabled ? 'Turn off two-factor sign-in' : 'Set up an authenticator app'}
          action={action}
          onSubmit={start}
        />
      )}
      {confirming && (
        <ConfirmDialog
          title="Turn off two-factor sign-in?"
          action="Turn off"
          onConfirm={turnOff}
          onCancel={() => setConfirming(false)}
        >
          <p>Codes from the authenticator app will no longer approve a new device.</p>
        </ConfirmDialog>
      )}
    </Card>
  );
}

function RecoverySection(props: { session: Session; exists: boolean; onChanged(): void }) {
  const [password, setPassword] = useState('');
  const [confirming, setConfirming] = useState(false);
  const [shown, setShown] = useState<string>();
  const action = useAction();

  const replace = () => {
    setConfirming(false);
    void action.run('Checking the password and wrapping the account key…', async () => {
      setShown(await replaceRecoveryKey(props.session, password));
      setPassword('');
      props.onChanged();
      return undefined;
    });
  };

  return (
    <Card id="recovery-title" title="Recovery key">
      <p data-testid="recovery-state">
        {props.exists
          ? 'This account has a recovery key: with the password it signs in a new device when no other is at hand.'
          : 'This account has no recovery key.'}
      </p>
      {shown ? (
        <div className="form">
          <p>
            <strong>Write this down now; it is shown only once.</strong> The old recovery key no longer works.
          </p>
          <p className="code" data-testid="recovery-key">
            {shown}
          </p>
          <div className="buttons">
            <button type="button" onClick={() => setShown(undefined)}>
              I have written it down
            </button>
          </div>
        </div>
      ) : (
        <CurrentPasswordForm
          password={password}
          onPassword={setPassword}
          submit="Make a new recovery key"
          action={action}
          onSubmit={() => setConfirming(true)}
        />
      )}
      {confirming && (
        <ConfirmDialog
          title="Make a new recovery key?"
          action="Make a new key"
          onConfirm={replace}
          onCancel={() => setConfirming(false)}
        >
          <p>The current recovery key stops working at once. The new one is shown here once.</p>
        </ConfirmDialog>
      )}
    </Card>
  );
}

/** Pending is a sign-out waiting for its confirmation. */
type Pending = { kind: 'one'; session: account.SessionInfo } | { kind: 'all'; includeCurrent: boolean };

function SessionsSection(props: { session: Session; onSessionEnded(): void }) {
  const { api } = props.session;
  const sessions = useLoad(() => api.call(account.listSessions, {}), [props.session]);
  const [pending, setPending] = useState<Pending>();
  const action = useAction();

  const confirm = () => {
    const chosen = pending;
    setPending(undefined);
    if (!chosen) return;
    void action.run('Signing out…', async () => {
      const endsThis = chosen.kind === 'one' ? chosen.session.current : chosen.includeCurrent;
      let result: string;
      if (chosen.kind === 'one') {
        await api.call(account.revokeSession, { params: { sessionId: chosen.session.id } });
        result = `Signed out ${chosen.session.deviceName}.`;
      } else {
        const { revoked } = await api.call(account.signOutAll, {
          body: { includeCurrent: chosen.includeCurrent },
        });
        result = `Signed out ${revoked} ${revoked === 1 ? 'session' : 'sessions'}.`;
      }
      if (endsThis) props.onSessionEnded();
      else sessions.reload();
      return result;
    });
  };

  return (
    <Card id="sessions-title" title="Signed-in devices">
      {sessions.error && <p role="alert">{sessions.error}</p>}
      <ul className="plain sessions">
        {sessions.value?.sessions.map((s) => (
          <li key={s.id} className="session" data-session={s.deviceName}>
            <div>
              <strong>{s.deviceName}</strong>
              {s.current ? ' (this browser)' : ''}
              <br />
              <small>
                Signed in {formatTime(s.createdAt)}, last used{' '}
                {s.lastUsedAt ? formatTime(s.lastUsedAt) : 'never'}, from {s.ip}
              </small>
            </div>
            <button
              type="button"
              className="secondary"
              aria-label={`Sign out ${s.deviceName}${s.current ? ' (this browser)' : ''}`}
              onClick={() => setPending({ kind: 'one', session: s })}
            >
              Sign out
            </button>
          </li>
        ))}
      </ul>
      <div className="buttons">
        <button
          type="button"
          className="danger"
          onClick={() => setPending({ kind: 'all', includeCurrent: false })}
        >
          Sign out every other device
        </button>
        <button
          type="button"
          className="secondary"
          onClick={() => setPending({ kind: 'all', includeCurrent: true })}
        >
          Sign out everywhere, this browser too
        </button>
      </div>
      {action.feedback}
      {pending && (
        <ConfirmDialog
          title={pending.kind === 'one' ? `Sign out ${pending.session.deviceName}?` : 'Sign out everywhere?'}
          action="Sign out"
          onConfirm={confirm}
          onCancel={() => setPending(undefined)}
        >
          <p>
            {pending.kind === 'one'
              ? 'Its backups stop until it signs in again, which needs the password and an approval.'
              : pending.includeCurrent
                ? 'Every device and browser, this one too, must sign in again; backups stop until they do.'
                : 'Every other device and browser must sign in again; backups stop until they do.'}
          </p>
        </ConfirmDialog>
      )}
    </Card>
  );
}
