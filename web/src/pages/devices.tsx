/**
 * DevicesPage, the console's home: each device with its platform, agent version (and
 * whether the server still accepts it), sign-in, its backup switch, last successful
 * backup, what it is doing now (live progress with rate and ETA) or why it waits, when the
 * next backup is due, its last failure explained, Back Up Now, and the troubleshooter.
 * Browsers signed in to the account are listed apart: they hold no backups.
 */
import { useRef, useState } from 'react';
import {
  type BackupProgress,
  type Device,
  listDevices,
  requestBackup,
  setDeviceBackup,
} from '../../../src/api/devices.ts';
import { compareVersions, latestRelease } from '../../../src/api/releases.ts';
import { messageOf } from '../api.ts';
import { formatBytes, formatDuration, formatTime } from '../format.ts';
import { describeReason } from '../reasons.ts';
import type { Session } from '../session.ts';
import { SilentDevices } from '../silent-devices.tsx';
import { useLoad } from '../use-load.ts';
import { Approvals } from './approvals.tsx';
import { Troubleshooter } from './troubleshooter.tsx';

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
      <SilentDevices session={props.session} />
      {devices.error && <p role="alert">{devices.error}</p>}
      {devices.value && backingUp.length === 0 && (
        <p className="card">
          No device backs up to this account yet. On a computer run <code>cumulus login</code>, then{' '}
          <code>cumulus enable</code>.
        </p>
      )}
      <ul className="plain devices">
        {backingUp.map((device) => (
          <DeviceCard
            key={device.id}
            device={device}
            minimumVersion={minimum}
            session={props.session}
            reload={devices.reload}
          />
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

interface DeviceProps {
  device: Device;
  session: Session;
  /** Asks for the devices again, so a control shows what it changed at once. */
  reload(): void;
}

function DeviceCard(props: DeviceProps & { minimumVersion: string | undefined }) {
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
        <dt>Backup</dt>
        <dd data-field="backup">
          <BackupSwitch {...props} />
        </dd>
        <dt>Last backup</dt>
        <dd data-field="last-backup">{d.lastBackupAt ? formatTime(d.lastBackupAt) : 'never'}</dd>
        <dt>Now</dt>
        <dd data-field="now">
          <Activity device={d} />
        </dd>
        <dt>Next backup</dt>
        <dd data-field="next-due">{nextDue(d)}</dd>
        <dt>Last failure</dt>
        <dd data-field="last-failure">{lastFailure(d)}</dd>
      </dl>
      <BackUpNow {...props} />
      <Troubleshooter device={d} session={props.session} />
    </li>
  );
}

/** useAction runs one request at a time for a control and keeps why it failed. */
function useAction(onDone: () => void): {
  busy: boolean;
  error: string | undefined;
  run(action: () => Promise<unknown>): Promise<void>;
} {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  return {
    busy,
    error,
    run: async (action) => {
      setBusy(true);
      setError(undefined);
      try {
        await action();
        onDone();
      } catch (failure) {
        setError(messageOf(failure));
      } finally {
        setBusy(false);
      }
    },
  };
}

/**
 * BackupSwitch is the device's backup on/off, kept by the server: its agent applies it at
 * its next sync (seconds), and `cumulus settings show` on the device shows the same.
 */
function BackupSwitch(props: DeviceProps) {
  const d = props.device;
  const action = useAction(props.reload);
  const enabled = d.backup?.enabled ?? false;
  return (
    <>
      <label className="switch">
        <input
          type="checkbox"
          role="switch"
          aria-checked={enabled}
          checked={enabled}
          disabled={action.busy}
          onChange={(event) => {
            const next = event.currentTarget.checked;
            void action.run(() =>
              props.session.api.call(setDeviceBackup, {
                params: { deviceId: d.id },
                body: { enabled: next },
              }),
            );
          }}
        />{' '}
        <span>Back up {d.name} automatically</span>
      </label>{' '}
      <small data-field="backup-state">
        {d.backup === null
          ? '· not known yet: its agent has not been in touch'
          : `· ${d.backup.enabled ? 'on' : 'off'}${d.backup.changedAt ? ` since ${formatTime(d.backup.changedAt)}` : ''}`}
      </small>
      {action.error && <p role="alert">{action.error}</p>}
    </>
  );
}

/** BackUpNow asks the device's agent to back up now: it takes the request within seconds. */
function BackUpNow(props: DeviceProps) {
  const d = props.device;
  const action = useAction(props.reload);
  // The server refuses a device that is off or signed out: the button says so by being off.
  const cannot =
    d.progress !== null || d.backupRequestedAt !== null || d.backup?.enabled === false || !d.signedIn;
  return (
    <div className="buttons">
      <button
        type="button"
        disabled={action.busy || cannot}
        onClick={() =>
          void action.run(() => props.session.api.call(requestBackup, { params: { deviceId: d.id } }))
        }
      >
        Back Up Now
      </button>
      {action.error && <p role="alert">{action.error}</p>}
    </div>
  );
}

function Activity(props: { device: Device }) {
  const d = props.device;
  if (d.progress) return <Progress progress={d.progress} />;
  if (d.backupRequestedAt) {
    const when = formatTime(d.backupRequestedAt);
    if (!d.agentActive) {
      const since = d.agentSyncedAt ? `since ${formatTime(d.agentSyncedAt)}` : 'yet';
      return (
        <>
          Back Up Now requested at {when}; its agent has not been in touch {since}: it backs up as soon as it
          runs (<code>cumulus agent status</code> on the device)
        </>
      );
    }
    return <>Back Up Now requested at {when}: the device starts within seconds</>;
  }
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

/** nextDue says when the device's agent expects its next automatic backup. */
function nextDue(d: Device): string {
  if (d.backup?.enabled === false) return 'none: backup is off';
  if (d.nextDueAt === null) return 'not known yet';
  if (Date.parse(d.nextDueAt) <= Date.now()) return 'due now: it starts once every condition holds';
  return formatTime(d.nextDueAt);
}

/** lastFailure explains the last failed backup, unless a backup has succeeded since. */
function lastFailure(d: Device): string {
  const failure = d.lastFailure;
  if (!failure || (d.lastBackupAt !== null && Date.parse(d.lastBackupAt) > Date.parse(failure.at)))
    return 'none since the last backup';
  const why = failure.reason ? describeReason(failure.reason) : '';
  return `${formatTime(failure.at)}: ${why || 'an error'}`;
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
