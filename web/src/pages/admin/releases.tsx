/**
 * Releases: the published agent versions, newest first, and publishing one with its notes
 * and the minimum version the server still accepts on backup routes (older agents are told
 * to update).
 */
import { type FormEvent, useState } from 'react';
import * as admin from '../../../../src/api/admin.ts';
import { Card, useAction } from '../../action.tsx';
import { formatTime } from '../../format.ts';
import type { Session } from '../../session.ts';
import { useLoad } from '../../use-load.ts';

const VERSION_PATTERN = '[0-9]{1,9}\\.[0-9]{1,9}\\.[0-9]{1,9}(-[0-9A-Za-z.\\-]{1,64})?';

export function ReleasesPage(props: { session: Session }) {
  const { api } = props.session;
  const releases = useLoad(() => api.call(admin.listReleases, {}), [props.session]);
  const [version, setVersion] = useState('');
  const [minimumVersion, setMinimumVersion] = useState('');
  const [notes, setNotes] = useState('');
  const action = useAction();

  const publish = (event: FormEvent) => {
    event.preventDefault();
    void action.run('Publishing…', async () => {
      const release = await api.call(admin.publishRelease, { body: { version, minimumVersion, notes } });
      setVersion('');
      setMinimumVersion('');
      setNotes('');
      releases.reload();
      return `Published ${release.version}; agents older than ${release.minimumVersion} must update.`;
    });
  };

  const latest = releases.value?.releases[0];
  return (
    <>
      <Card id="releases-title" title="Releases">
        {releases.error && <p role="alert">{releases.error}</p>}
        <p data-testid="minimum-version">
          {latest
            ? `Latest ${latest.version}; minimum version ${latest.minimumVersion}.`
            : 'No release published yet: every agent version is accepted.'}
        </p>
        <ul className="plain">
          {releases.value?.releases.map((release) => (
            <li key={release.version} data-release={release.version}>
              <strong>{release.version}</strong>{' '}
              <small>
                published {formatTime(release.publishedAt)}, minimum {release.minimumVersion}
              </small>
              {release.notes && <p className="notes">{release.notes}</p>}
            </li>
          ))}
        </ul>
      </Card>
      <Card id="publish-title" title="Publish a release">
        <form className="form" onSubmit={publish}>
          <label>
            Version
            <input
              required
              pattern={VERSION_PATTERN}
              value={version}
              onChange={(e) => setVersion(e.target.value)}
            />
          </label>
          <label>
            Minimum version agents must run
            <input
              required
              pattern={VERSION_PATTERN}
              value={minimumVersion}
              onChange={(e) => setMinimumVersion(e.target.value)}
            />
          </label>
          <label>
            Release notes
            <textarea maxLength={10000} rows={4} value={notes} onChange={(e) => setNotes(e.target.value)} />
          </label>
          <div className="buttons">
            <button type="submit" disabled={action.busy}>
              Publish
            </button>
          </div>
          {action.feedback}
        </form>
      </Card>
    </>
  );
}
