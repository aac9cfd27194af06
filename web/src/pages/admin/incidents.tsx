/**
 * Incidents and maintenance: declare one (it shows on System Status at once, or when a
 * maintenance window starts), update what an open one says, and resolve it.
 */
import { type FormEvent, useState } from 'react';
import * as admin from '../../../../src/api/admin.ts';
import { COMPONENTS, type ComponentId, type Incident } from '../../../../src/api/status.ts';
import { Card, useAction } from '../../action.tsx';
import { ConfirmDialog } from '../../confirm.tsx';
import { formatTime } from '../../format.ts';
import type { Session } from '../../session.ts';
import { useLoad } from '../../use-load.ts';

type Severity = Incident['severity'];

/** isoOf turns a datetime-local field (the browser's time zone) into the API's UTC time, or undefined when empty. */
function isoOf(local: string): string | undefined {
  return local ? new Date(local).toISOString() : undefined;
}

export function IncidentsPage(props: { session: Session }) {
  const { api } = props.session;
  const incidents = useLoad(() => api.call(admin.listIncidents, {}), [props.session]);
  const [editing, setEditing] = useState<string>();
  const [resolving, setResolving] = useState<Incident>();
  const action = useAction();

  const resolve = (incident: Incident) => {
    setResolving(undefined);
    void action.run('Resolving…', async () => {
      await api.call(admin.resolveIncident, { params: { incidentId: incident.id } });
      incidents.reload();
      return `${incident.title} is resolved.`;
    });
  };

  return (
    <>
      <DeclareCard session={props.session} onDeclared={incidents.reload} />
      <Card id="incidents-title" title="Incidents and maintenance">
        {incidents.error && <p role="alert">{incidents.error}</p>}
        {incidents.value?.incidents.length === 0 && <p>None declared.</p>}
        <ul className="plain">
          {incidents.value?.incidents.map((incident) => (
            <li key={incident.id} data-incident={incident.title}>
              <strong>{incident.title}</strong>{' '}
              <small>
                {incident.kind}, {incident.severity},{' '}
                {incident.components.map((c) => COMPONENTS[c]).join(', ')}; from{' '}
                {formatTime(incident.startsAt)}
                {incident.endsAt ? ` to ${formatTime(incident.endsAt)}` : ''}
                {incident.resolvedAt ? `; resolved ${formatTime(incident.resolvedAt)}` : ''}
              </small>
              {incident.message && <p className="notes">{incident.message}</p>}
              {incident.resolvedAt === null &&
                (editing === incident.id ? (
                  <UpdateForm
                    session={props.session}
                    incident={incident}
                    onDone={() => {
                      setEditing(undefined);
                      incidents.reload();
                    }}
                  />
                ) : (
                  <div className="buttons">
                    <button type="button" className="secondary" onClick={() => setEditing(incident.id)}>
                      Update {incident.title}
                    </button>
                    <button type="button" className="secondary" onClick={() => setResolving(incident)}>
                      Resolve {incident.title}
                    </button>
                  </div>
                ))}
            </li>
          ))}
        </ul>
        {action.feedback}
      </Card>
      {resolving && (
        <ConfirmDialog
          title={`Resolve ${resolving.title}?`}
          action="Resolve"
          onConfirm={() => resolve(resolving)}
          onCancel={() => setResolving(undefined)}
        >
          <p>
            System Status moves it to the history
            {resolving.kind === 'maintenance' ? ', ending the window now' : ''}.
          </p>
        </ConfirmDialog>
      )}
    </>
  );
}

function SeverityField(props: { value: Severity; onChange(value: Severity): void }) {
  return (
    <label>
      Severity
      <select value={props.value} onChange={(e) => props.onChange(e.target.value as Severity)}>
        <option value="minor">Minor (amber)</option>
        <option value="major">Major (red)</option>
      </select>
    </label>
  );
}

function DeclareCard(props: { session: Session; onDeclared(): void }) {
  const [kind, setKind] = useState<Incident['kind']>('incident');
  const [title, setTitle] = useState('');
  const [message, setMessage] = useState('');
  const [severity, setSeverity] = useState<Severity>('major');
  const [components, setComponents] = useState<ComponentId[]>([]);
  const [startsAt, setStartsAt] = useState('');
  const [endsAt, setEndsAt] = useState('');
  const action = useAction();

  const toggle = (id: ComponentId, on: boolean) =>
    setComponents((list) => (on ? [...list, id] : list.filter((c) => c !== id)));
  const declare = (event: FormEvent) => {
    event.preventDefault();
    void action.run('Declaring…', async () => {
      if (components.length === 0) throw new Error('Choose at least one affected component.');
      const body: admin.NewIncident = { kind, title, message, severity, components };
      const starts = isoOf(startsAt);
      const ends = isoOf(endsAt);
      if (starts) body.startsAt = starts;
      if (ends) body.endsAt = ends;
      const declared = await props.session.api.call(admin.declareIncident, { body });
      setTitle('');
      setMessage('');
      setComponents([]);
      setStartsAt('');
      setEndsAt('');
      props.onDeclared();
      return `Declared ${declared.title}: System Status shows it.`;
    });
  };

  return (
    <Card id="declare-title" title="Declare an incident or maintenance">
      <form className="form" onSubmit={declare}>
        <fieldset>
          <legend>Kind</legend>
          {(['incident', 'maintenance'] as const).map((k) => (
            <label key={k} className="choice">
              <input
                type="radio"
                name="kind"
                checked={kind === k}
                onChange={() => {
                  setKind(k);
                  setSeverity(k === 'maintenance' ? 'minor' : 'major');
                }}
              />
              {k === 'incident' ? 'Incident' : 'Maintenance window'}
            </label>
          ))}
        </fieldset>
        <label>
          Title
          <input required maxLength={200} value={title} onChange={(e) => setTitle(e.target.value)} />
        </label>
        <label>
          Message
          <textarea maxLength={5000} rows={3} value={message} onChange={(e) => setMessage(e.target.value)} />
        </label>
        <SeverityField value={severity} onChange={setSeverity} />
        <fieldset>
          <legend>Affected components</legend>
          {(Object.keys(COMPONENTS) as ComponentId[]).map((id) => (
            <label key={id} className="choice">
              <input
                type="checkbox"
                checked={components.includes(id)}
                onChange={(e) => toggle(id, e.target.checked)}
              />
              {COMPONENTS[id]}
            </label>
          ))}
        </fieldset>
        <label>
          Starts (empty: now)
          <input type="datetime-local" value={startsAt} onChange={(e) => setStartsAt(e.target.value)} />
        </label>
        <label>
          Ends (optional)
          <input type="datetime-local" value={endsAt} onChange={(e) => setEndsAt(e.target.value)} />
        </label>
        <div className="buttons">
          <button type="submit" disabled={action.busy}>
            Declare
          </button>
        </div>
        {action.feedback}
      </form>
    </Card>
  );
}

function UpdateForm(props: { session: Session; incident: Incident; onDone(): void }) {
  const { incident } = props;
  const [title, setTitle] = useState(incident.title);
  const [message, setMessage] = useState(incident.message);
  const [severity, setSeverity] = useState<Severity>(incident.severity);
  const action = useAction();
  const save = (event: FormEvent) => {
    event.preventDefault();
    void action.run('Saving…', async () => {
      await props.session.api.call(admin.updateIncident, {
        params: { incidentId: incident.id },
        body: { title, message, severity },
      });
      props.onDone();
      return undefined;
    });
  };
  return (
    <form className="form" onSubmit={save} aria-label={`Update ${incident.title}`}>
      <label>
        New title
        <input required maxLength={200} value={title} onChange={(e) => setTitle(e.target.value)} />
      </label>
      <label>
        New message
        <textarea maxLength={5000} rows={3} value={message} onChange={(e) => setMessage(e.target.value)} />
      </label>
      <SeverityField value={severity} onChange={setSeverity} />
      <div className="buttons">
        <button type="submit" disabled={action.busy}>
          Save update
        </button>
        <button type="button" className="secondary" onClick={props.onDone}>
          Cancel
        </button>
      </div>
      {action.feedback}
    </form>
  );
}
