/**
 * DevicesPage, the console's home: each device with its platform, agent version (and
 * whether the server still accepts it), sign-in, last successful backup, and what it is
 * doing now (live progress with rate and ETA) or why its last attempt did not back up.
 * Browsers signed in to the account are listed apart: they hold no backups.
 */
import { useRef } from 'react';
import { type BackupProgress, type Device, listDevices } from '../../../src/api/devices.ts';
import { compareVersions, latestRelease } from '../../../src/api/releases.ts';
import { formatBytes, formatDuration, formatTime } from '../format.ts';
import { describeReason } from '../reasons.ts';
import type { Session } from '../session.ts';
import { useLoad } from '../use-load.ts';
import { Approvals } from './approvals.tsx';

/** How often the page asks again: an agent reports progress every few seconds. */
const POLL_MS = 3_000;

export function DevicesPage(props: { session: Session }) {
  const { api } = props.session;
  const devices = useLoad(() => api.call(listDevices, {}), [api], POLL_MS);
  const release = useLoad(() => api.call(latestRelease, {}), [api]);
  const minimum = release.value?.latest?.minimumVersion;
  const all = devices.value?.devices ?? [];
  const backingUp = all.filter((d) => d.platform !== 'web');
  const browsers = all.filter((d) => d.platform === 'web');
  return (
    <section aria-labelledby="devices-title">
      <h1 id="devices-title">Devices</h1>
      <Approvals session={props.session} />
      {devices.error && <p role="alert">{devices.error}</p>}
      {devices.value && backingUp.length === 0 && (
        <p className="card">
          No device backs up to this account yet. On a computer run <code>cumulus login</code>, then{' '}
          <code>cumulus enable</code>.
        </p>
      )}
      <ul className="plain devices">
        {backingUp.map((device) => (
          <DeviceCard key={device.id} device={device} minimumVersion={minimum} />
        ))}
      </ul>
      {browsers.length > 0 && (
        <>
          <h2>Browsers</h2>
          <ul className="card plain">
            {browsers.map((b) => (
              <li key={b.id}>
                {b.name}
                {b.current ? ' (this browser)' : ''}{' '}
                <small>· {b.signedIn ? 'signed in' : 'signed out'}</small>
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}

function DeviceCard(props: { device: Device; minimumVersion: string | undefined }) {
  const d = props.device;
  const outdated =
    props.minimumVersion !== undefined && compareVersions(d.agentVersion, props.minimumVersion) < 0;
  return (
    <li className="card device" data-device={d.name} aria-labelledby={`device-${d.id}`}>
      <h2 id={`device-${d.id}`}>{d.name}</h2>
      <dl className="facts">
        <dt>Platform</dt>
        <dd>{d.platform}</dd>
        <dt>Agent</dt>
        <dd data-field="agent">
          {d.agentVersion}
          {outdated && (
            <strong className="light-red">
              {' '}
              · update required (the server needs {props.minimumVersion})
            </strong>
          )}
        </dd>
        <dt>Sign-in</dt>
        <dd>{d.signedIn ? 'signed in' : 'signed out: it cannot back up until it signs in again'}</dd>
        <dt>Last backup</dt>
        <dd data-field="last-backup">{d.lastBackupAt ? formatTime(d.lastBackupAt) : 'never'}</dd>
        <dt>Now</dt>
        <dd data-field="now">
          <Activity device={d} />
        </dd>
      </dl>
    </li>
  );
}

function Activity(props: { device: Device }) {
  const d = props.device;
  if (d.progress) return <Progress progress={d.progress} />;
  if (d.lastOutcome === null || d.lastAttemptAt === null) return <>no backup attempt reported yet</>;
  const why = d.lastReason ? describeReason(d.lastReason) : '';
  const when = formatTime(d.lastAttemptAt);
  switch (d.lastOutcome) {
    case 'success':
      return <>backed up at {when}</>;
    case 'partial':
      return (
        <>
          backed up at {when}, but {why || 'some files were left out'}
        </>
      );
    case 'skipped':
      return (
        <>
          waiting since {when}: {why || 'a condition does not hold'}
        </>
      );
    case 'stopped':
      return (
        <>
          stopped at {when}: {why}; it resumes when every condition holds
        </>
      );
    case 'failed':
      return (
        <span className="light-red">
          failed at {when}: {why || 'an error'}
        </span>
      );
  }
}

/**
 * Progress shows a running backup; the rate comes from the two latest reports this page
 * saw, so it appears from the second report on.
 */
function Progress(props: { progress: BackupProgress }) {
  const p = props.progress;
  const previous = useRef<BackupProgress>(undefined);
  const rate = useRef<number>(undefined);
  if (previous.current && previous.current.at !== p.at) {
    const seconds = (Date.parse(p.at) - Date.parse(previous.current.at)) / 1000;
    if (seconds > 0 && p.bytesDone >= previous.current.bytesDone) {
      rate.current = (p.bytesDone - previous.current.bytesDone) / seconds;
    }
  }
  if (previous.current?.at !== p.at) previous.current = p;
  const fraction = p.bytesTotal ? Math.min(1, p.bytesDone / p.bytesTotal) : undefined;
  const eta =
    rate.current && p.bytesTotal !== undefined
      ? Math.max(0, (p.bytesTotal - p.bytesDone) / rate.current)
      : undefined;
  return (
    <div data-field="progress">
      <p>
        backing up: {formatBytes(p.bytesDone)}
        {p.bytesTotal !== undefined && ` of ${formatBytes(p.bytesTotal)}`} read ({p.filesDone}
        {p.filesTotal !== undefined && ` of ${p.filesTotal}`} files), {formatBytes(p.bytesUploaded)} uploaded
        {rate.current !== undefined && ` · ${formatBytes(rate.current)}/s`}
        {eta !== undefined && ` · about ${formatDuration(eta * 1000)} left`}
      </p>
      {fraction !== undefined && (
        <progress max={1} value={fraction} aria-label="Backup progress">
          {Math.round(fraction * 100)}%
        </progress>
      )}
    </div>
  );
}
