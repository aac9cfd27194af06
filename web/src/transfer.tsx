/**
 * useTransfer runs one download at a time for a page, with a Cancel (an AbortController
 * the restore checks between chunks), and TransferStatus shows it: what it restores, the
 * bytes and files done of the total, the rate and the time left, then the outcome.
 */
import { useRef, useState } from 'react';
import { messageOf } from './api.ts';
import type { DownloadProgress } from './download.ts';
import { formatBytes, formatDuration } from './format.ts';

const SHOW_EVERY_MS = 100;

export interface TransferState {
  name: string;
  listed?: number;
  progress?: DownloadProgress;
  error?: string;
  cancelled?: boolean;
  done?: string;
}

export interface Transfer {
  state: TransferState | undefined;
  running: boolean;
  /** run starts a download; `work` gets the signal and reports through the callbacks. */
  run(
    name: string,
    work: (control: {
      signal: AbortSignal;
      onProgress(progress: DownloadProgress): void;
      onListing(files: number): void;
    }) => Promise<string>,
  ): Promise<void>;
  cancel(): void;
}

export function useTransfer(): Transfer {
  const [state, setState] = useState<TransferState>();
  const controller = useRef<AbortController>(undefined);
  const run: Transfer['run'] = async (name, work) => {
    controller.current?.abort();
    const mine = new AbortController();
    controller.current = mine;
    setState({ name });
    // Progress comes per chunk, thousands a second for small files: the page redraws it at most every SHOW_EVERY_MS.
    let latest: TransferState = { name };
    let shown = 0;
    const show = (next: TransferState) => {
      latest = next;
      const now = Date.now();
      if (now - shown < SHOW_EVERY_MS || mine.signal.aborted) return;
      shown = now;
      setState(latest);
    };
    try {
      const done = await work({
        signal: mine.signal,
        onProgress: (progress) => show({ name, progress }),
        onListing: (listed) => show({ name, listed }),
      });
      latest = { ...latest, done };
      setState(latest);
    } catch (failure) {
      if (mine.signal.aborted) setState({ name, cancelled: true });
      else setState({ ...latest, error: messageOf(failure) });
    } finally {
      if (controller.current === mine) controller.current = undefined;
    }
  };
  return {
    state,
    running: state !== undefined && !state.done && !state.error && !state.cancelled,
    run,
    cancel: () => controller.current?.abort(),
  };
}

export function TransferStatus(props: { transfer: Transfer }) {
  const { state, running } = props.transfer;
  if (!state) return null;
  const p = state.progress;
  if (state.cancelled)
    return <p role="status">Cancelled {state.name}: the partial download was discarded.</p>;
  if (state.error)
    return (
      <p role="alert">
        Could not restore {state.name}: {state.error}
      </p>
    );
  if (state.done) return <p role="status">{state.done}</p>;
  const seconds = p ? (Date.now() - p.startedAt) / 1000 : 0;
  const rate = p && seconds > 0 ? p.bytesDone / seconds : 0;
  const eta = p && rate > 0 ? ((p.bytesTotal - p.bytesDone) / rate) * 1000 : undefined;
  return (
    <div role="status" className="transfer">
      <p>
        {!p && state.listed === undefined && `Restoring ${state.name}…`}
        {!p && state.listed !== undefined && `Listing ${state.name}: ${state.listed} files so far…`}
        {p && `Restoring ${state.name}: ${formatBytes(p.bytesDone)} of ${formatBytes(p.bytesTotal)}`}
        {p && p.filesTotal > 1 && ` · ${p.filesDone} of ${p.filesTotal} files`}
        {rate > 0 && ` · ${formatBytes(rate)}/s`}
        {eta !== undefined && ` · about ${formatDuration(eta)} left`}
      </p>
      {p && (
        <progress
          max={Math.max(1, p.bytesTotal)}
          value={p.bytesDone}
          aria-label={`Restoring ${state.name}`}
        />
      )}
      {running && (
        <button type="button" className="secondary" onClick={props.transfer.cancel}>
          Cancel
        </button>
      )}
    </div>
  );
}
