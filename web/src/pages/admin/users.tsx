/**
 * Users: every account with its role, plan, devices and usage; invite a new user (the
 * one-time invite and the `cumulus login` command that uses it, shown once), disable or
 * enable an account, and set its plan (any plan, offered or not).
 */
import { type FormEvent, useState } from 'react';
import * as admin from '../../../../src/api/admin.ts';
import { Card, useAction } from '../../action.tsx';
import { ConfirmDialog } from '../../confirm.tsx';
import { formatBytes, formatTime } from '../../format.ts';
import type { Session } from '../../session.ts';
import { useLoad } from '../../use-load.ts';

export function UsersPage(props: { session: Session }) {
  const { api } = props.session;
  const data = useLoad(async () => {
    const [{ users }, { plans }] = await Promise.all([
      api.call(admin.listUsers, {}),
      api.call(admin.listAllPlans, {}),
    ]);
    return { users, plans };
  }, [props.session]);
  const [disabling, setDisabling] = useState<admin.AdminUser>();
  const action = useAction();

  const setDisabled = (user: admin.AdminUser, disabled: boolean) => {
    setDisabling(undefined);
    void action.run(disabled ? 'Disabling…' : 'Enabling…', async () => {
      const endpoint = disabled ? admin.disableUser : admin.enableUser;
      await api.call(endpoint, { params: { accountId: user.id } });
      data.reload();
      return `${user.email} is ${disabled ? 'disabled: its devices are signed out' : 'enabled again'}.`;
    });
  };
  const setPlan = (user: admin.AdminUser, planId: string) =>
    void action.run('Changing the plan…', async () => {
      await api.call(admin.setUserPlan, { params: { accountId: user.id }, body: { planId } });
      data.reload();
      return `${user.email} is on the plan ${planId} now.`;
    });

  const plans = data.value?.plans ?? [];
  return (
    <>
      <InviteCard session={props.session} plans={plans} onInvited={data.reload} />
      <Card id="users-title" title="Users">
        {data.error && <p role="alert">{data.error}</p>}
        <ul className="plain">
          {data.value?.users.map((user) => (
            <li key={user.id} className="admin-row" data-user={user.email}>
              <div>
                <strong>{user.email}</strong> {user.role === 'admin' ? '(admin)' : ''}
                {user.disabled ? ' — disabled' : ''}
                <br />
                <small>
                  {user.devices} {user.devices === 1 ? 'device' : 'devices'}, {formatBytes(user.usedBytes)}{' '}
                  used, since {formatTime(user.createdAt)}
                </small>
              </div>
              <div className="buttons">
                <label className="inline">
                  Plan of {user.email}
                  <select value={user.planId} onChange={(e) => setPlan(user, e.target.value)}>
                    {plans.map((plan) => (
                      <option key={plan.id} value={plan.id}>
                        {plan.name} ({formatBytes(plan.quotaBytes)})
                      </option>
                    ))}
                  </select>
                </label>
                {user.disabled ? (
                  <button type="button" className="secondary" onClick={() => setDisabled(user, false)}>
                    Enable {user.email}
                  </button>
                ) : (
                  <button type="button" className="secondary" onClick={() => setDisabling(user)}>
                    Disable {user.email}
                  </button>
                )}
              </div>
            </li>
          ))}
        </ul>
        {action.feedback}
      </Card>
      {disabling && (
        <ConfirmDialog
          title={`Disable ${disabling.email}?`}
          action="Disable"
          onConfirm={() => setDisabled(disabling, true)}
          onCancel={() => setDisabling(undefined)}
        >
          <p>
            Its {disabling.devices} {disabling.devices === 1 ? 'device is' : 'devices are'} signed out and it
            cannot sign in until enabled again; its backups stay.
          </p>
        </ConfirmDialog>
      )}
    </>
  );
}

function InviteCard(props: { session: Session; plans: { id: string; name: string }[]; onInvited(): void }) {
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<'user' | 'admin'>('user');
  const [planId, setPlanId] = useState('');
  const [invite, setInvite] = useState<admin.Invite>();
  const action = useAction();
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void action.run('Inviting…', async () => {
      const body = { email, role, ...(planId ? { planId } : {}) };
      setInvite(await props.session.api.call(admin.createInvite, { body }));
      setEmail('');
      props.onInvited();
      return undefined;
    });
  };
  return (
    <Card id="invite-title" title="Invite a user">
      <form className="form" onSubmit={submit}>
        <label>
          Email of the new user
          <input type="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
        </label>
        <label>
          Role
          <select value={role} onChange={(e) => setRole(e.target.value as 'user' | 'admin')}>
            <option value="user">User</option>
            <option value="admin">Admin</option>
          </select>
        </label>
        <label>
          Plan
          <select value={planId} onChange={(e) => setPlanId(e.target.value)}>
            <option value="">The default plan</option>
            {props.plans.map((plan) => (
              <option key={plan.id} value={plan.id}>
                {plan.name}
              </option>
            ))}
          </select>
        </label>
        <div className="buttons">
          <button type="submit" disabled={action.busy}>
            Invite
          </button>
        </div>
        {action.feedback}
      </form>
      {invite && (
        <div data-testid="invite">
          <p>
            Send this to {invite.email}; it works once, until {formatTime(invite.expiresAt)}. They choose
            their own password when they sign in with it on their computer:
          </p>
          <pre className="command">
            <code data-testid="invite-command">
              cumulus login {location.origin} --email {invite.email} --invite {invite.token}
            </code>
          </pre>
        </div>
      )}
    </Card>
  );
}
