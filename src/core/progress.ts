/** Progress figures shared by every rendering: the bar, --json, `cumulus status`. */

export interface ProgressSnapshot {
  filesDone: number;
  /** 0 when unknown. */
  filesTotal: number;
  bytesDone: number;
  bytesTotal: number;
  /** The totals are counted in full (a backup's scanner is done); until then they only grow. */
  totalsFinal?: boolean;
  elapsedMs: number;
}

export interface ProgressFigures {
  /** Of the bytes, 0–100. */
  percent: number;
  /** Time left at the average rate so far; undefined until the totals are final and bytes moved. */
  etaMs: number | undefined;
}

/** progressFigures computes the percentage and the time left of a progress snapshot. */
export function progressFigures(p: ProgressSnapshot): ProgressFigures {
  const total = Math.max(p.bytesTotal, p.bytesDone);
  const percent = total === 0 ? (p.totalsFinal ? 100 : 0) : Math.floor((p.bytesDone * 100) / total);
  const etaMs =
    p.totalsFinal && p.bytesDone > 0 && p.elapsedMs > 0
      ? Math.round(((total - p.bytesDone) * p.elapsedMs) / p.bytesDone)
      : undefined;
  return { percent, etaMs };
}
