/**
 * Server health: the database's size, free space where the packs live, and each
 * maintenance job's last run (outcome and counts) and next due time, refreshed every 30 s.
 */
import * as admin from '../../../../src/api/admin.ts';
import { describeRun } from '../../../../src/api/status.ts';
import { Card } from '../../action.tsx';
import { formatBytes, formatTime } from '../../format.ts';
import type { Session } from '../../session.ts';
import { useLoad } from '../../use-load.ts';

export function HealthPage(props: { session: Session }) {
  const health = useLoad(() => props.session.api.call(admin.getServerHealth, {}), [props.session], 30_000);
  const h = health.value;
  const storage = h?.blobStorage;
  return (
    <Card id="health-title" title="Server health">
      {health.error && <p role="alert">{health.error}</p>}
      {h && storage && (
        <>
          <dl className="facts">
            <dt>Database</dt>
            <dd data-field="database">
              {h.database.kind === 'sqlite' ? 'SQLite' : 'PostgreSQL'}, {formatBytes(h.database.sizeBytes)}
            </dd>
            <dt>Free where packs live</dt>
            <dd data-field="disk-free">
              {storage.freeBytes !== null && storage.totalBytes !== null
                ? `${formatBytes(storage.freeBytes)} of ${formatBytes(storage.totalBytes)}`
                : 'object storage does not say'}
            </dd>
            <dt>Checked</dt>
            <dd>{formatTime(h.checkedAt)}</dd>
          </dl>
          <h3>Maintenance</h3>
          <div>
            <table>
              <thead>
                <tr>
                  <th scope="col">Job</th>
                  <th scope="col">Last run</th>
                  <th scope="col">Outcome</th>
                  <th scope="col">Next due</th>
                </tr>
              </thead>
              <tbody>
                {h.maintenance.map((job) => (
                  <tr key={job.name} data-job={job.name}>
                    <th scope="row">
                      {job.name}
                      {job.everyMinutes !== null && <small> (every {job.everyMinutes} min)</small>}
                    </th>
                    <td>{job.lastRun ? formatTime(job.lastRun.startedAt) : 'never'}</td>
                    <td data-field="outcome">{describeRun(job)}</td>
                    <td>{job.nextRunAt ? formatTime(job.nextRunAt) : ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </Card>
  );
}
