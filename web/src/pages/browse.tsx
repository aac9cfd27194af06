/**
 * BrowsePage, Browse and restore: a device's snapshots as a timeline, newest first; a
 * folder browser over the chosen snapshot (its sources, then each folder's tree, opened
 * and decoded in this page); a filter by name within the folder; and Download, which
 * restores a file decrypted and verified here (download.ts). Long folders render only the
 * rows on screen (content-visibility), so 10,000 entries stay quick.
 */
import { useMemo, useState } from 'react';
import type { TreeEntry } from '../../../src/core/tree.ts';
import { messageOf } from '../api.ts';
import { canStream, type DownloadProgress, saveFile } from '../download.ts';
import { formatBytes, formatDuration, formatTime } from '../format.ts';
import type { Session } from '../session.ts';
import { useLoad } from '../use-load.ts';
import { type Snapshot, Vault } from '../vault.ts';

/** Place is where the browser stands: a snapshot, and the folders opened from one of its sources down. */
interface Place {
  snapshot: Snapshot;
  /** Each step's name and tree ID; the first is a source (its path, its root tree). */
  path: { name: string; tree: string }[];
}

export function BrowsePage(props: { session: Session }) {
  const { session } = props;
  const loaded = useLoad(async () => {
    const vault = await Vault.open(session.api, session.accountKey, session.repositoryConfig);
    return { vault, snapshots: await vault.snapshots() };
  }, [session]);
  const [device, setDevice] = useState<string>();
  const [place, setPlace] = useState<Place>();
  const value = loaded.value;
  const devices = useMemo(() => {
    const names = new Map<string, string>();
    for (const s of value?.snapshots ?? []) names.set(s.record.device, s.record.deviceName || s.info.host);
    return [...names];
  }, [value]);
  const shownDevice = device ?? devices[0]?.[0];
  const timeline = (value?.snapshots ?? []).filter((s) => s.record.device === shownDevice);

  return (
    <section aria-labelledby="browse-title">
      <h1 id="browse-title">Browse and restore</h1>
      {loaded.error && <p role="alert">{loaded.error}</p>}
      {value && value.snapshots.length === 0 && <p className="card">No backups yet.</p>}
      {devices.length > 1 && (
        <label className="inline">
          Device
          <select
            value={shownDevice}
            onChange={(e) => {
              setDevice(e.target.value);
              setPlace(undefined);
            }}
          >
            {devices.map(([id, name]) => (
              <option key={id} value={id}>
                {name}
              </option>
            ))}
          </select>
        </label>
      )}
      <div className="browse">
        {timeline.length > 0 && (
          <nav aria-label="Snapshots" className="card timeline">
            <h2>Snapshots</h2>
            <ol className="plain">
              {timeline.map((s) => (
                <li key={s.record.id}>
                  <button
                    type="button"
                    className="link"
                    aria-current={place?.snapshot.record.id === s.record.id ? 'true' : undefined}
                    onClick={() => setPlace({ snapshot: s, path: [] })}
                  >
                    {formatTime(s.info.time)}
                  </button>
                  <small>
                    {' '}
                    · {formatBytes(s.info.summary.logicalBytes)},{' '}
                    {s.info.summary.filesNew + s.info.summary.filesChanged} new or changed
                  </small>
                </li>
              ))}
            </ol>
          </nav>
        )}
        {value && place && <Folder vault={value.vault} place={place} onOpen={setPlace} />}
      </div>
    </section>
  );
}

function Folder(props: { vault: Vault; place: Place; onOpen(place: Place): void }) {
  const { vault, place } = props;
  const here = place.path.at(-1);
  const entries = useLoad(
    async (): Promise<TreeEntry[] | undefined> => (here ? vault.tree(here.tree) : undefined),
    [vault, here?.tree],
  );
  const [filter, setFilter] = useState('');
  const [download, setDownload] = useState<{
    name: string;
    progress?: DownloadProgress;
    error?: string;
    done?: boolean;
  }>();
  const open = (step: { name: string; tree: string }) => {
    setFilter('');
    props.onOpen({ snapshot: place.snapshot, path: [...place.path, step] });
  };
  const up = (depth: number) => props.onOpen({ snapshot: place.snapshot, path: place.path.slice(0, depth) });

  const restore = async (file: Extract<TreeEntry, { type: 'file' }>, stream: boolean) => {
    setDownload({ name: file.name });
    try {
      await saveFile(vault, file, {
        stream,
        onProgress: (progress) => setDownload({ name: file.name, progress }),
      });
      setDownload((d) => ({ ...d, name: file.name, done: true }));
    } catch (failure) {
      setDownload((d) => ({ ...d, name: file.name, error: messageOf(failure) }));
    }
  };

  const shown = useMemo(() => {
    const all = entries.value ?? [];
    const needle = filter.trim().toLowerCase();
    return needle ? all.filter((e) => e.name.toLowerCase().includes(needle)) : all;
  }, [entries.value, filter]);

  return (
    <section className="card folder" aria-labelledby="folder-title">
      <h2 id="folder-title">{formatTime(place.snapshot.info.time)}</h2>
      <nav aria-label="Folder path">
        <ol className="crumbs">
          <li>
            <button type="button" className="link" onClick={() => up(0)}>
              {place.snapshot.info.host}
            </button>
          </li>
          {place.path.map((step, i) => (
            <li
              key={place.path
                .slice(0, i + 1)
                .map((s) => s.name)
                .join('/')}
            >
              <button
                type="button"
                className="link"
                onClick={() => up(i + 1)}
                aria-current={i === place.path.length - 1 ? 'location' : undefined}
              >
                {step.name}
              </button>
            </li>
          ))}
        </ol>
      </nav>
      {!here && (
        <ul className="plain entries">
          {place.snapshot.info.sources.map((source) => (
            <li key={source.id}>
              <button
                type="button"
                className="link"
                onClick={() => open({ name: source.path, tree: source.tree })}
              >
                📁 {source.path}
              </button>
            </li>
          ))}
        </ul>
      )}
      {here && (
        <>
          <label className="inline">
            Filter by name
            <input type="search" value={filter} onChange={(e) => setFilter(e.target.value)} />
          </label>
          {entries.error && <p role="alert">{entries.error}</p>}
          {entries.value && (
            <p className="muted" aria-live="polite">
              {shown.length === entries.value.length
                ? `${shown.length} items`
                : `${shown.length} of ${entries.value.length} items`}
            </p>
          )}
          <ul className="plain entries" aria-label="Folder contents">
            {shown.map((entry) => (
              <li key={entry.name} className="entry" data-entry={entry.name}>
                {entry.type === 'dir' ? (
                  <button
                    type="button"
                    className="link"
                    onClick={() => open({ name: entry.name, tree: entry.tree })}
                  >
                    📁 {entry.name}
                  </button>
                ) : (
                  <span className="name">
                    {entry.type === 'symlink' ? '↪' : '📄'} {entry.name}
                  </span>
                )}
                {entry.type === 'file' && (
                  <>
                    <small>{formatBytes(entry.size)}</small>
                    <span className="buttons">
                      <button
                        type="button"
                        className="secondary"
                        aria-label={`Download ${entry.name}`}
                        onClick={() => restore(entry, false)}
                      >
                        Download
                      </button>
                      {canStream() && (
                        <button
                          type="button"
                          className="secondary"
                          aria-label={`Save as… ${entry.name} (written to disk as it arrives)`}
                          onClick={() => restore(entry, true)}
                        >
                          Save as…
                        </button>
                      )}
                    </span>
                  </>
                )}
                {entry.type === 'symlink' && <small>→ {entry.target}</small>}
              </li>
            ))}
          </ul>
        </>
      )}
      {download && <DownloadStatus {...download} />}
    </section>
  );
}

function DownloadStatus(props: {
  name: string;
  progress?: DownloadProgress;
  error?: string;
  done?: boolean;
}) {
  const p = props.progress;
  if (props.error)
    return (
      <p role="alert">
        Could not restore {props.name}: {props.error}
      </p>
    );
  if (props.done) return <p role="status">Restored {props.name}: decrypted and verified in this browser.</p>;
  if (!p) return <p role="status">Restoring {props.name}…</p>;
  const seconds = (Date.now() - p.startedAt) / 1000;
  const rate = seconds > 0 ? p.bytesDone / seconds : 0;
  const eta = rate > 0 ? ((p.bytesTotal - p.bytesDone) / rate) * 1000 : undefined;
  return (
    <div role="status">
      <p>
        Restoring {props.name}: {formatBytes(p.bytesDone)} of {formatBytes(p.bytesTotal)}
        {rate > 0 && ` · ${formatBytes(rate)}/s`}
        {eta !== undefined && ` · about ${formatDuration(eta)} left`}
      </p>
      <progress max={Math.max(1, p.bytesTotal)} value={p.bytesDone} aria-label={`Restoring ${props.name}`} />
    </div>
  );
}
