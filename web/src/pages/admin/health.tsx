/**
 * Server health: the database's size, free space where the packs live, and each
 * maintenance job's last run (outcome and counts) and next due time, refreshed every 30 s.
 */
import * as admin from '../../../../src/api/admin.ts';
import { Card } from '../../action.tsx';
import { formatBytes, formatTime } from '../../format.ts';
import { JobsTable } from '../../jobs-table.tsx';
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
          <JobsTable jobs={h.maintenance} />
        </>
      )}
    </Card>
  );
}
