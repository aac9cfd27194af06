/**
 * The audit log: security events newest first (sign-ins, approvals, revocations, password
 * and key changes, deletions, admin actions), a page at a time, paged by event ID.
 */
import { useState } from 'react';
import * as admin from '../../../../src/api/admin.ts';
import { Card } from '../../action.tsx';
import { formatTime } from '../../format.ts';
import type { Session } from '../../session.ts';
import { useLoad } from '../../use-load.ts';

const PAGE_SIZE = 50;

export function AuditPage(props: { session: Session }) {
  const { api } = props.session;
  // The cursors of the pages seen, so Newer goes back: undefined is the newest page.
  const [cursors, setCursors] = useState<(number | undefined)[]>([undefined]);
  const before = cursors[cursors.length - 1];
  const page = useLoad(
    () => api.call(admin.listAudit, { query: { limit: PAGE_SIZE, ...(before ? { before } : {}) } }),
    [props.session, before],
  );
  const events = page.value?.events ?? [];
  const oldest = events[events.length - 1];
  return (
    <Card id="audit-title" title="Audit log">
      {page.error && <p role="alert">{page.error}</p>}
      <ul className="plain">
        {events.map((event) => (
          <li key={event.id} data-event={event.event}>
            <strong>{event.event.replaceAll('_', ' ')}</strong>{' '}
            <small>
              {formatTime(event.at)}, by {event.actor}
              {event.ip ? ` from ${event.ip}` : ''}
            </small>
            {Object.keys(event.details).length > 0 && (
              <code className="details">{JSON.stringify(event.details)}</code>
            )}
          </li>
        ))}
      </ul>
      <div className="buttons">
        <button
          type="button"
          className="secondary"
          disabled={cursors.length === 1}
          onClick={() => setCursors((c) => c.slice(0, -1))}
        >
          Newer events
        </button>
        <button
          type="button"
          className="secondary"
          disabled={events.length < PAGE_SIZE || !oldest}
          onClick={() => oldest && setCursors((c) => [...c, oldest.id])}
        >
          Older events
        </button>
      </div>
    </Card>
  );
}
