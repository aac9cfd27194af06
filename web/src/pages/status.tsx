/** The System Status page: a light per component from the server's live probes, then incidents. Public. */
import { getStatus, type Incident, type Light, type MaintenanceJob } from '../../../src/api/status.ts';
import type { ApiClient } from '../api.ts';
import { formatTime } from '../format.ts';
import { JobsTable } from '../jobs-table.tsx';
import { useLoad } from '../use-load.ts';

const LABEL: Record<Light, string> = { green: 'Operational', amber: 'Degraded', red: 'Outage' };
const SUMMARY: Record<Light, string> = {
  green: 'All systems operational',
  amber: 'Some systems are degraded',
  red: 'Some systems are down',
};

export function StatusPage(props: { api: ApiClient }) {
  const status = useLoad(() => props.api.call(getStatus, {}), [props.api], 30_000);
  const report = status.value;
  return (
    <section aria-labelledby="status-title">
      <h1 id="status-title">System Status</h1>
      {status.error && <p role="alert">{status.error}</p>}
      {report && (
        <>
          <p className={`banner light-${report.status}`} data-testid="status-summary">
            {SUMMARY[report.status]}
            <small> · checked {formatTime(report.checkedAt)}</small>
          </p>
          <ul className="components">
            {report.components.map((component) => (
              <li key={component.id} data-component={component.id}>
                <span className={`dot light-${component.status}`} aria-hidden="true" />
                <span className="component-name">{component.name}</span>
                <span className="component-state">{LABEL[component.status]}</span>
                {component.detail && <p className="detail">{component.detail}</p>}
              </li>
            ))}
          </ul>
          <Incidents title="Now" incidents={report.active} />
          <Incidents title="Planned maintenance" incidents={report.upcoming} />
          <Incidents title="Past 90 days" incidents={report.history} empty="No incidents." />
          <h2>Servers</h2>
          <ul className="replicas">
            {report.replicas.map((replica) => (
              <li key={replica.id} data-replica={replica.id}>
                Server {replica.id}
                {replica.leader ? ' (runs maintenance)' : ''}
                <small>
                  {' '}
                  · heartbeat {formatTime(replica.heartbeatAt)} · up since {formatTime(replica.startedAt)}
                </small>
              </li>
            ))}
          </ul>
          <Jobs jobs={report.maintenance} />
        </>
      )}
    </section>
  );
}

function Incidents(props: { title: string; incidents: Incident[]; empty?: string }) {
  if (props.incidents.length === 0 && !props.empty) return null;
  return (
    <>
      <h2>{props.title}</h2>
      {props.incidents.length === 0 ? (
        <p>{props.empty}</p>
      ) : (
        <ul className="incidents">
          {props.incidents.map((incident) => (
            <li key={incident.id}>
              <strong>{incident.title}</strong>{' '}
              <small>
                {incident.kind === 'maintenance' ? 'maintenance' : `${incident.severity} incident`} ·{' '}
                {formatTime(incident.startsAt)}
                {incident.resolvedAt ? ` – resolved ${formatTime(incident.resolvedAt)}` : ''}
              </small>
              {incident.message && <p>{incident.message}</p>}
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

/** Jobs lists the server's scheduled maintenance jobs with their last run and outcome. */
function Jobs(props: { jobs: MaintenanceJob[] }) {
  if (props.jobs.length === 0) return null;
  return (
    <>
      <h2>Scheduled maintenance jobs</h2>
      <div className="table-scroll">
        <JobsTable jobs={props.jobs} />
      </div>
    </>
  );
}
