/**
 * Plans and quotas: every plan, offered to users or not, and which is the default for new
 * accounts; one form creates a plan or edits the one chosen.
 */
import { type FormEvent, useState } from 'react';
import * as admin from '../../../../src/api/admin.ts';
import type { Plan } from '../../../../src/api/plans.ts';
import { Card, useAction } from '../../action.tsx';
import { formatBytes } from '../../format.ts';
import type { Session } from '../../session.ts';
import { useLoad } from '../../use-load.ts';

/** Decimal units, the way plans are sold and formatBytes prints them. */
const UNITS = { MB: 1e6, GB: 1e9, TB: 1e12 } as const;
type Unit = keyof typeof UNITS;

interface Draft {
  id: string;
  name: string;
  size: string;
  unit: Unit;
  offered: boolean;
  isDefault: boolean;
  /** Editing an existing plan: its ID stays. */
  existing: boolean;
}

const EMPTY: Draft = {
  id: '',
  name: '',
  size: '',
  unit: 'GB',
  offered: true,
  isDefault: false,
  existing: false,
};

function draftOf(plan: Plan): Draft {
  const unit: Unit = plan.quotaBytes >= UNITS.TB ? 'TB' : plan.quotaBytes >= UNITS.GB ? 'GB' : 'MB';
  return {
    id: plan.id,
    name: plan.name,
    size: String(plan.quotaBytes / UNITS[unit]),
    unit,
    offered: plan.offered,
    isDefault: plan.isDefault,
    existing: true,
  };
}

export function PlansPage(props: { session: Session }) {
  const { api } = props.session;
  const plans = useLoad(() => api.call(admin.listAllPlans, {}), [props.session]);
  const [draft, setDraft] = useState<Draft>(EMPTY);
  const action = useAction();
  const change = (fields: Partial<Draft>) => setDraft((d) => ({ ...d, ...fields }));

  const save = (event: FormEvent) => {
    event.preventDefault();
    void action.run('Saving…', async () => {
      const quotaBytes = Math.round(Number(draft.size) * UNITS[draft.unit]);
      if (!Number.isSafeInteger(quotaBytes) || quotaBytes < 0)
        throw new Error('The quota must be a size like 50 GB.');
      const saved = await api.call(admin.putPlan, {
        params: { planId: draft.id },
        body: {
          name: draft.name,
          quotaBytes,
          offered: draft.offered,
          // Only a plan made the default says so: unticking does not leave the server without one.
          ...(draft.isDefault ? { isDefault: true } : {}),
        },
      });
      setDraft(EMPTY);
      plans.reload();
      return `Saved the plan ${saved.name} (${formatBytes(saved.quotaBytes)}).`;
    });
  };

  return (
    <>
      <Card id="plans-title" title="Plans">
        {plans.error && <p role="alert">{plans.error}</p>}
        <div className="table-scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Plan</th>
                <th scope="col">Quota</th>
                <th scope="col">Offered to users</th>
                <th scope="col">Default</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {plans.value?.plans.map((plan) => (
                <tr key={plan.id} data-plan={plan.id}>
                  <th scope="row">
                    {plan.name} <small>({plan.id})</small>
                  </th>
                  <td data-field="quota">{formatBytes(plan.quotaBytes)}</td>
                  <td>{plan.offered ? 'yes' : 'no'}</td>
                  <td>{plan.isDefault ? 'default' : ''}</td>
                  <td>
                    <button type="button" className="secondary" onClick={() => setDraft(draftOf(plan))}>
                      Edit {plan.name}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </Card>
      <Card id="plan-form-title" title={draft.existing ? `Edit ${draft.name}` : 'New plan'}>
        <form className="form" onSubmit={save}>
          <label>
            Plan ID
            <input
              required
              pattern="[a-z0-9][a-z0-9\-]{0,31}"
              title="lowercase letters, digits and dashes"
              readOnly={draft.existing}
              value={draft.id}
              onChange={(e) => change({ id: e.target.value })}
            />
          </label>
          <label>
            Name
            <input
              required
              maxLength={100}
              value={draft.name}
              onChange={(e) => change({ name: e.target.value })}
            />
          </label>
          <div className="buttons">
            <label>
              Quota
              <input
                required
                inputMode="decimal"
                pattern="[0-9]+(\.[0-9]+)?"
                value={draft.size}
                onChange={(e) => change({ size: e.target.value })}
              />
            </label>
            <label>
              Unit
              <select value={draft.unit} onChange={(e) => change({ unit: e.target.value as Unit })}>
                {Object.keys(UNITS).map((unit) => (
                  <option key={unit}>{unit}</option>
                ))}
              </select>
            </label>
          </div>
          <label className="choice">
            <input
              type="checkbox"
              checked={draft.offered}
              onChange={(e) => change({ offered: e.target.checked })}
            />
            Offered: users may switch to it themselves
          </label>
          <label className="choice">
            <input
              type="checkbox"
              checked={draft.isDefault}
              disabled={draft.existing && plans.value?.plans.find((p) => p.id === draft.id)?.isDefault}
              onChange={(e) => change({ isDefault: e.target.checked })}
            />
            The default for new accounts
          </label>
          <div className="buttons">
            <button type="submit" disabled={action.busy}>
              Save plan
            </button>
            {draft.existing && (
              <button type="button" className="secondary" onClick={() => setDraft(EMPTY)}>
                New plan instead
              </button>
            )}
          </div>
          {action.feedback}
        </form>
      </Card>
    </>
  );
}
