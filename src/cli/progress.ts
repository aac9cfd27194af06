/**
 * Progress rendering: a bar on a terminal (files, bytes, rate, ETA), JSON lines with
 * --json, nothing otherwise. The engines emit typed events; only this file draws them.
 */
import cliProgress from 'cli-progress';
import { formatBytes } from '../core/units.ts';
import { rate } from './format.ts';

export interface ProgressSnapshot {
  filesDone: number;
  filesTotal: number;
  bytesDone: number;
  bytesTotal: number;
  elapsedMs: number;
}

export interface ProgressReporter {
  update(progress: ProgressSnapshot): void;
  warn(message: string): void;
  stop(): void;
}

export function progressReporter(options: { json: boolean; label: string }): ProgressReporter {
  if (options.json) {
    return {
      update: (p) => process.stdout.write(`${JSON.stringify({ type: 'progress', ...p })}\n`),
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
  const bar = new cliProgress.SingleBar(
    {
      format: `${options.label} [{bar}] {percentage}% | {files} files | {done} / {total} | {rate} | ETA {eta_formatted}`,
      stream: process.stderr,
      hideCursor: true,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(1, 0, { files: '0', done: '0 B', total: '?', rate: '-' });
  return {
    update: (p) => {
      bar.setTotal(Math.max(p.bytesTotal, p.bytesDone, 1));
      bar.update(p.bytesDone, {
        files: p.filesTotal > 0 ? `${p.filesDone}/${p.filesTotal}` : String(p.filesDone),
        done: formatBytes(p.bytesDone),
        total: formatBytes(p.bytesTotal),
        rate: rate(p.bytesDone, p.elapsedMs),
      });
    },
    warn: (message) => {
      bar.stop();
      process.stderr.write(`warning: ${message}\n`);
      bar.start(bar.getTotal(), bar.getProgress() * bar.getTotal());
    },
    stop: () => bar.stop(),
  };
}
