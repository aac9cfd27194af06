/**
 * SilentDevices is the banner above the device list: each device of the account the
 * server found silent for longer than the account allows, why (in words made from its
 * reason codes), and when its backups will be deleted if it does not back up.
 */
import { listAlerts } from '../../src/api/notifications.ts';
import { formatTime } from './format.ts';
import { describeReason } from './reasons.ts';
import type { Session } from './session.ts';
import { useLoad } from './use-load.ts';

/** The server checks for silence hourly; a minute is fresh enough. */
const POLL_MS = 60_000;

export function SilentDevices(props: { session: Session }) {
  const { api } = props.session;
  const loaded = useLoad(() => api.call(listAlerts, {}), [api], POLL_MS);
  const alerts = loaded.value?.alerts ?? [];
  if (alerts.length === 0) return null;
  return (
    <section className="card" aria-label="Devices that stopped backing up" data-banner="silent-devices">
      <ul className="plain">
        {alerts.map((a) => {
          const why = describeReason(a.reason);
          return (
            <li key={a.deviceId}>
              <strong className="light-amber">
                {a.name} has not backed up for {a.silentDays} days{why ? `: ${why}` : ''}
              </strong>
              {a.deletesAt && (
                <small>
                  {' '}
                  · its backups will be deleted on {formatTime(a.deletesAt)} unless it backs up or is pinned
                </small>
              )}
            </li>
          );
        })}
      </ul>
    </section>
  );
}
