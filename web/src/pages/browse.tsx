/**
 * BrowsePage, Browse and restore: a device's snapshots as a timeline, newest first; a
 * folder browser over the chosen snapshot (its sources, then each folder's tree, opened
 * and decoded in this page) whose long folders render only the rows in view
 * (VirtualList); a filter by name within the folder and a search by name through the
 * whole snapshot; the versions of one file across the device's snapshots; and downloads
 * of a file, or of a folder as a zip, restored, verified and streamed to disk here
 * (download.ts), one at a time with progress and Cancel.
 */
import { useMemo, useRef, useState } from 'react';
import type { FileEntry, TreeEntry } from '../../../src/core/tree.ts';
import { messageOf } from '../api.ts';
import { saveFile, saveFolder } from '../download.ts';
import { formatBytes, formatTime } from '../format.ts';
import { canPick, type SaveWay } from '../save.ts';
import { MAX_MATCHES, type Match, type SearchProgress, searchNames } from '../search.ts';
import type { Session } from '../session.ts';
import { type Transfer, TransferStatus, useTransfer } from '../transfer.tsx';
import { useLoad } from '../use-load.ts';
import { type Snapshot, Vault } from '../vault.ts';
import { fileVersions } from '../versions.ts';
import { VirtualList } from '../virtual-list.tsx';
import type { Step } from '../walk.ts';

/** Place is where the browser stands: a snapshot, and the folders opened from one of its sources down. */
interface Place {
  snapshot: Snapshot;
  /** Each step's name and tree ID; the first is a source (its path, its root tree). */
  path: Step[];
}

/** Actions are what a row can ask for: downloads through the page's one transfer, and a file's versions. */
interface Actions {
  file(file: FileEntry, way: SaveWay): void;
  folder(folder: Step, way: SaveWay): void;
  versions(place: Place, file: FileEntry): void;
}

export function BrowsePage(props: { session: Session }) {
  const { session } = props;
  const loaded = useLoad(async () => {
    const vault = await Vault.open(session.api, session.accountKey, session.repositoryConfig);
    return { vault, snapshots: await vault.snapshots() };
  }, [session]);
  const [device, setDevice] = useState<string>();
  const [place, setPlace] = useState<Place>();
  const [versionsOf, setVersionsOf] = useState<{ place: Place; file: FileEntry }>();
  const transfer = useTransfer();
  const value = loaded.value;
  const devices = useMemo(() => {
    const names = new Map<string, string>();
    for (const s of value?.snapshots ?? []) names.set(s.record.device, s.record.deviceName || s.info.host);
    return [...names];
  }, [value]);
  const shownDevice = device ?? devices[0]?.[0];
  const timeline = (value?.snapshots ?? []).filter((s) => s.record.device === shownDevice);
  const go = (next: Place | undefined) => {
    setPlace(next);
    setVersionsOf(undefined);
  };

  const actions: Actions | undefined = value && {
    file: (file, way) =>
      transfer.run(file.name, async (control) => {
        await saveFile(value.vault, file, { way, ...control });
        return `Restored ${file.name}: decrypted and verified in this browser.`;
      }),
    folder: (folder, way) => {
      const name = zipName(folder.name);
      return transfer.run(`${name}.zip`, async (control) => {
        const listing = await saveFolder(value.vault, { name, tree: folder.tree }, { way, ...control });
        const links = listing.links > 0 ? `; ${listing.links} symbolic links left out` : '';
        return `Restored ${name}.zip: ${listing.files.length} files, decrypted and verified in this browser${links}.`;
      });
    },
    versions: (at, file) => setVersionsOf({ place: at, file }),
  };

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
              go(undefined);
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
      <TransferStatus transfer={transfer} />
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
                    onClick={() => go({ snapshot: s, path: [] })}
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
        {value && actions && place && (
          <div className="browse-main">
            <SnapshotSearch
              key={place.snapshot.record.id}
              vault={value.vault}
              place={place}
              onOpen={go}
              actions={actions}
            />
            <Folder
              key={place.path.map((step) => step.tree).join('/')}
              vault={value.vault}
              place={place}
              onOpen={go}
              actions={actions}
            />
            {versionsOf && (
              <Versions
                vault={value.vault}
                timeline={timeline}
                at={versionsOf.place}
                file={versionsOf.file}
                transfer={transfer}
                onClose={() => setVersionsOf(undefined)}
              />
            )}
          </div>
        )}
      </div>
    </section>
  );
}

/** zipName is a folder's name for its zip: a source's last path component. */
function zipName(path: string): string {
  return path.split('/').filter(Boolean).at(-1) ?? 'backup';
}

function Folder(props: { vault: Vault; place: Place; onOpen(place: Place): void; actions: Actions }) {
  const { vault, place, actions } = props;
  const here = place.path.at(-1);
  const entries = useLoad(
    async (): Promise<TreeEntry[] | undefined> => (here ? vault.tree(here.tree) : undefined),
    [vault, here?.tree],
  );
  const [filter, setFilter] = useState('');
  const open = (step: Step) => {
    props.onOpen({ snapshot: place.snapshot, path: [...place.path, step] });
  };
  const up = (depth: number) => props.onOpen({ snapshot: place.snapshot, path: place.path.slice(0, depth) });

  const shown = useMemo(() => {
    const all = entries.value ?? [];
    const needle = filter.trim().toLocaleLowerCase();
    return needle ? all.filter((e) => e.name.toLocaleLowerCase().includes(needle)) : all;
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
        <ul className="plain entries" aria-label="Backed-up folders">
          {place.snapshot.info.sources.map((source) => (
            <li key={source.id} className="entry">
              <button
                type="button"
                className="link name"
                onClick={() => open({ name: source.path, tree: source.tree })}
              >
                📁 {source.path}
              </button>
              <ZipButtons folder={{ name: source.path, tree: source.tree }} actions={actions} />
            </li>
          ))}
        </ul>
      )}
      {here && (
        <>
          <div className="folder-tools">
            <label className="inline">
              Filter by name
              <input type="search" value={filter} onChange={(e) => setFilter(e.target.value)} />
            </label>
            <ZipButtons folder={here} actions={actions} />
          </div>
          {entries.error && <p role="alert">{entries.error}</p>}
          {entries.value && (
            <p className="muted" aria-live="polite">
              {shown.length === entries.value.length
                ? `${shown.length} items`
                : `${shown.length} of ${entries.value.length} items`}
            </p>
          )}
          <VirtualList
            items={shown}
            label="Folder contents"
            keyOf={(entry) => entry.name}
            render={(entry) => (
              <EntryRow
                entry={entry}
                onOpen={open}
                onFile={actions.file}
                onVersions={(f) => actions.versions(place, f)}
              />
            )}
          />
        </>
      )}
    </section>
  );
}

function ZipButtons(props: { folder: Step; actions: Actions }) {
  const name = zipName(props.folder.name);
  return (
    <span className="buttons">
      <button
        type="button"
        className="secondary"
        aria-label={`Download zip of ${name}`}
        onClick={() => props.actions.folder(props.folder, 'download')}
      >
        Download zip
      </button>
      {canPick() && (
        <button
          type="button"
          className="secondary"
          aria-label={`Save zip as… ${name}`}
          onClick={() => props.actions.folder(props.folder, 'picker')}
        >
          Save zip as…
        </button>
      )}
    </span>
  );
}

/** EntryRow is one entry of a folder or of a search: its name (a folder opens), size and actions. */
function EntryRow(props: {
  entry: TreeEntry;
  label?: string;
  onOpen(step: Step): void;
  onFile(file: FileEntry, way: SaveWay): void;
  onVersions?(file: FileEntry): void;
}) {
  const { entry } = props;
  const label = props.label ?? entry.name;
  return (
    <>
      {entry.type === 'dir' ? (
        <button
          type="button"
          className="link name"
          onClick={() => props.onOpen({ name: entry.name, tree: entry.tree })}
        >
          📁 {label}
        </button>
      ) : (
        <span className="name" data-entry={entry.name}>
          {entry.type === 'symlink' ? '↪' : '📄'} {label}
        </span>
      )}
      {entry.type === 'symlink' && <small>→ {entry.target}</small>}
      {entry.type === 'file' && (
        <>
          <small>{formatBytes(entry.size)}</small>
          <span className="buttons">
            <button
              type="button"
              className="secondary"
              aria-label={`Download ${entry.name}`}
              onClick={() => props.onFile(entry, 'download')}
            >
              Download
            </button>
            {canPick() && (
              <button
                type="button"
                className="secondary"
                aria-label={`Save as… ${entry.name}`}
                onClick={() => props.onFile(entry, 'picker')}
              >
                Save as…
              </button>
            )}
            {props.onVersions && (
              <button
                type="button"
                className="secondary"
                aria-label={`Versions of ${entry.name}`}
                onClick={() => props.onVersions?.(entry)}
              >
                Versions
              </button>
            )}
          </span>
        </>
      )}
    </>
  );
}

/** SnapshotSearch searches the whole snapshot by name, showing matches as they are found. */
function SnapshotSearch(props: { vault: Vault; place: Place; onOpen(place: Place): void; actions: Actions }) {
  const { vault, place } = props;
  const [text, setText] = useState('');
  const [found, setFound] = useState<SearchProgress & { done: boolean; error?: string; text: string }>();
  const controller = useRef<AbortController>(undefined);
  const search = async () => {
    controller.current?.abort();
    const mine = new AbortController();
    controller.current = mine;
    const searched = text;
    setFound({ matches: [], folders: 0, done: false, text: searched });
    try {
      const end = await searchNames(
        vault,
        place.snapshot.info.sources.map((s) => ({ path: s.path, tree: s.tree })),
        searched,
        (progress) =>
          setFound({
            matches: [...progress.matches],
            folders: progress.folders,
            done: false,
            text: searched,
          }),
        mine.signal,
      );
      setFound({ ...end, matches: [...end.matches], done: true, text: searched });
    } catch (failure) {
      setFound((f) => f && { ...f, done: true, error: mine.signal.aborted ? 'stopped' : messageOf(failure) });
    }
  };
  const openAt = (match: Match, extra: Step[] = []) =>
    props.onOpen({
      snapshot: place.snapshot,
      path: [{ name: match.source.path, tree: match.source.tree }, ...match.folders, ...extra],
    });
  return (
    <section className="card" aria-labelledby="search-title">
      <h2 id="search-title">Search this snapshot</h2>
      <search>
        <form
          className="folder-tools"
          onSubmit={(e) => {
            e.preventDefault();
            if (text.trim()) void search();
          }}
        >
          <label className="inline">
            Name contains
            <input type="search" value={text} onChange={(e) => setText(e.target.value)} />
          </label>
          <button type="submit">Search</button>
          {found && !found.done && (
            <button type="button" className="secondary" onClick={() => controller.current?.abort()}>
              Stop
            </button>
          )}
        </form>
      </search>
      {found && (
        <>
          <p className="muted" aria-live="polite">
            {found.done ? '' : 'Searching… '}
            {found.matches.length === MAX_MATCHES ? `The first ${MAX_MATCHES}` : found.matches.length}{' '}
            {found.matches.length === 1 ? 'match' : 'matches'} for “{found.text}” in {found.folders}{' '}
            {found.folders === 1 ? 'folder' : 'folders'}
            {found.error === 'stopped' && ' (stopped)'}
            {found.matches.length === MAX_MATCHES && ': narrow the search to see the rest'}
          </p>
          {found.error && found.error !== 'stopped' && <p role="alert">{found.error}</p>}
          {found.matches.length > 0 && (
            <VirtualList
              items={found.matches}
              label="Search results"
              keyOf={(m) => [m.source.path, ...m.folders.map((s) => s.name), m.entry.name].join('/')}
              render={(m) => (
                <>
                  <EntryRow
                    entry={m.entry}
                    label={[...m.folders.map((s) => s.name), m.entry.name].join('/')}
                    onOpen={(step) => openAt(m, [step])}
                    onFile={props.actions.file}
                  />
                  {m.entry.type !== 'dir' && (
                    <button
                      type="button"
                      className="link"
                      aria-label={`Open folder of ${m.entry.name}`}
                      onClick={() => openAt(m)}
                    >
                      Open folder
                    </button>
                  )}
                </>
              )}
            />
          )}
        </>
      )}
    </section>
  );
}

/** Versions lists the distinct contents of one file across the device's snapshots, each downloadable. */
function Versions(props: {
  vault: Vault;
  timeline: readonly Snapshot[];
  at: Place;
  file: FileEntry;
  transfer: Transfer;
  onClose(): void;
}) {
  const { at, file } = props;
  const location = {
    source: at.path[0].name,
    folders: at.path.slice(1).map((s) => s.name),
    name: file.name,
  };
  const versions = useLoad(
    () => fileVersions(props.vault, props.timeline, location),
    [props.vault, props.timeline, location.source, location.folders.join('/'), location.name],
  );
  return (
    <section className="card" aria-labelledby="versions-title">
      <h2 id="versions-title">Versions of {file.name}</h2>
      {versions.error && <p role="alert">{versions.error}</p>}
      {!versions.value && !versions.error && (
        <p role="status">Looking through {props.timeline.length} snapshots…</p>
      )}
      {versions.value && (
        <>
          <p className="muted">
            {versions.value.length} different {versions.value.length === 1 ? 'version' : 'versions'} in{' '}
            {versions.value.reduce((n, v) => n + v.snapshots.length, 0)} of {props.timeline.length} snapshots
          </p>
          <ol className="plain versions" aria-label={`Versions of ${file.name}`}>
            {versions.value.map((version, i) => {
              const newest = version.snapshots[0];
              const oldest = version.snapshots.at(-1) ?? newest;
              const modified = new Date(Number(BigInt(version.entry.mtimeNs) / 1_000_000n)).toISOString();
              return (
                <li key={newest.record.id} className="entry">
                  <span className="name">
                    {formatBytes(version.entry.size)}, modified {formatTime(modified)}
                    <small>
                      {' '}
                      · in {version.snapshots.length}{' '}
                      {version.snapshots.length === 1 ? 'snapshot' : 'snapshots'}:{' '}
                      {version.snapshots.length === 1
                        ? formatTime(newest.info.time)
                        : `${formatTime(oldest.info.time)} to ${formatTime(newest.info.time)}`}
                    </small>
                  </span>
                  <button
                    type="button"
                    className="secondary"
                    aria-label={`Download version ${i + 1} of ${file.name}`}
                    onClick={() =>
                      props.transfer.run(file.name, async (control) => {
                        await saveFile(props.vault, version.entry, { way: 'download', ...control });
                        return `Restored ${file.name} as of ${formatTime(newest.info.time)}: decrypted and verified in this browser.`;
                      })
                    }
                  >
                    Download
                  </button>
                </li>
              );
            })}
          </ol>
        </>
      )}
      <button type="button" className="link" onClick={props.onClose}>
        Close versions
      </button>
    </section>
  );
}
