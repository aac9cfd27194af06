/**
 * Progress rendering: a bar on a terminal (percent, files, bytes, rate, ETA), JSON lines
 * with --json, nothing otherwise. The engines emit typed events; only this file draws them,
 * and the bar and the JSON lines show the same figures (progressFigures).
 */
import cliProgress from 'cli-progress';
import { type ProgressSnapshot, progressFigures } from '../core/progress.ts';
import { formatBytes, formatDuration } from '../core/units.ts';
import { rate } from './format.ts';

export type { ProgressSnapshot };

/** progressText is what the bar prints beside itself: every count and size in words, nothing raw. */
export function progressText(p: ProgressSnapshot): {
  percent: string;
  files: string;
  bytes: string;
  rate: string;
  eta: string;
} {
  const { percent, etaMs } = progressFigures(p);
  const counting = p.totalsFinal ? '' : '+';
  return {
    percent: `${percent}%`,
    files: p.filesTotal > 0 ? `${p.filesDone}/${p.filesTotal}${counting}` : String(p.filesDone),
    bytes:
      p.bytesTotal > 0
        ? `${formatBytes(p.bytesDone)} / ${formatBytes(Math.max(p.bytesTotal, p.bytesDone))}${counting}`
        : formatBytes(p.bytesDone),
    rate: rate(p.bytesDone, p.elapsedMs),
    eta: etaMs === undefined ? (p.totalsFinal ? '-' : 'counting') : formatDuration(etaMs),
  };
}

export interface ProgressReporter {
  update(progress: ProgressSnapshot): void;
  warn(message: string): void;
  stop(): void;
}

export function progressReporter(options: { json: boolean; label: string }): ProgressReporter {
  if (options.json) {
    return {
      update: (p) =>
        process.stdout.write(
          `${JSON.stringify({ type: 'progress', ...p, totalsFinal: p.totalsFinal ?? false, ...progressFigures(p) })}\n`,
        ),
      warn: (message) => process.stdout.write(`${JSON.stringify({ type: 'warning', message })}\n`),
      stop: () => {},
    };
  }
  if (!process.stderr.isTTY) {
    return {
      update: () => {},
      warn: (message) => process.stderr.write(`warning: ${message}\n`),
      stop: () => {},
    };
  }
  // Only our own tokens: the bar's built-in {total} and {value} would print raw numbers.
  const bar = new cliProgress.SingleBar(
    {
      format: `${options.label} [{bar}] {pct} | {files} files | {bytes} | {rate} | ETA {left}`,
      stream: process.stderr,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  const payload = (p: ProgressSnapshot) => {
    const text = progressText(p);
    return { pct: text.percent, files: text.files, bytes: text.bytes, rate: text.rate, left: text.eta };
  };
  let last: ProgressSnapshot = { filesDone: 0, filesTotal: 0, bytesDone: 0, bytesTotal: 0, elapsedMs: 0 };
  bar.start(100, 0, payload(last));
  return {
    update: (p) => {
      last = p;
      bar.update(progressFigures(p).percent, payload(p));
    },
    warn: (message) => {
      bar.stop();
      process.stderr.write(`warning: ${message}\n`);
      bar.start(100, progressFigures(last).percent, payload(last));
    },
    stop: () => bar.stop(),
  };
}
