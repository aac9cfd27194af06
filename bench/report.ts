/**
 * Report: the benchmark's results as data, and their tables. Ratios are against restic
 * in the same run: throughput ratios (tool MB/s ÷ restic MB/s) for backups and restore,
 * a time ratio (tool s ÷ restic s) for the unchanged re-backup, where less is better.
 */

import { type Column, renderTable } from './table.ts';
import type { Measurement } from './tools.ts';
import { fixed, megabytes } from './units.ts';

/** phaseNames are the phases of a run, in order. */
export const phaseNames = ['backup', 'unchanged', 'changed', 'restore'] as const;

/** PhaseName is one of phaseNames. */
export type PhaseName = (typeof phaseNames)[number];

/** phaseTitles are the table titles. */
export const phaseTitles: Record<PhaseName, string> = {
  backup: 'Initial backup',
  unchanged: 'Unchanged re-backup',
  changed: 'Re-backup after the change',
  restore: 'Restore',
};

/** PhaseResult is one tool's outcome in one phase: a measurement, an error, or why it was skipped. */
export interface PhaseResult {
  tool: string;
  phase: PhaseName;
  /** corpusBytes is the size of the source tree at this phase (throughput = corpusBytes / wall). */
  corpusBytes: number;
  measurement?: Measurement;
  repoBytes?: number;
  cacheBytes?: number;
  error?: string;
  skipped?: string;
  /** verified is set by restore: 'ok', or what differs between the restored tree and the source. */
  verified?: string;
}

function ratio(value: number | undefined, base: number | undefined): string {
  if (value === undefined || base === undefined || base === 0) return '—';
  return `${(value / base).toFixed(2)}×`;
}

function throughput(result: PhaseResult | undefined): number | undefined {
  return result?.measurement ? megabytes(result.corpusBytes) / result.measurement.wallSeconds : undefined;
}

/** renderPhase returns the table of one phase, one row per tool, in the given order. */
export function renderPhase(phase: PhaseName, results: PhaseResult[], markdown: boolean): string {
  const rows = results.filter((result) => result.phase === phase);
  const restic = rows.find((result) => result.tool === 'restic' && result.measurement);
  const byTime = phase === 'unchanged';
  const columns: Column[] = [
    { header: 'tool', align: 'left' },
    { header: 'wall s', align: 'right' },
    { header: 'MB/s', align: 'right' },
    { header: byTime ? 'time × restic' : 'MB/s × restic', align: 'right' },
    { header: 'repo MB', align: 'right' },
    { header: 'repo × restic', align: 'right' },
    { header: 'peak RSS MB', align: 'right' },
    { header: 'RSS × restic', align: 'right' },
  ];
  if (phase === 'restore') columns.push({ header: 'restored tree', align: 'left' });
  const cells = rows.map((result) => {
    const m = result.measurement;
    if (!m) {
      const why = result.skipped ? `skipped: ${result.skipped}` : 'FAILED (see below)';
      return [result.tool, why, ...columns.slice(2).map(() => '—')];
    }
    const row = [
      result.tool,
      fixed(m.wallSeconds, 2),
      fixed(throughput(result), 1),
      byTime
        ? ratio(m.wallSeconds, restic?.measurement?.wallSeconds)
        : ratio(throughput(result), throughput(restic)),
      fixed(result.repoBytes === undefined ? undefined : megabytes(result.repoBytes), 1),
      ratio(result.repoBytes, restic?.repoBytes),
      fixed(megabytes(m.peakRssBytes), 1),
      ratio(m.peakRssBytes, restic?.measurement?.peakRssBytes),
    ];
    if (phase === 'restore')
      row.push(result.verified === 'ok' ? 'identical' : `MISMATCH: ${result.verified ?? 'not checked'}`);
    return row;
  });
  return renderTable(columns, cells, markdown);
}

/** failures returns one paragraph per failed phase, for printing under the tables. */
export function failures(results: PhaseResult[]): string[] {
  return results
    .filter((result) => result.error)
    .map((result) => `${result.tool}, ${phaseTitles[result.phase]}: ${result.error}`);
}

/** SweepRow is one chunker candidate's outcome in a sweep. */
export interface SweepRow {
  tool: string;
  initial?: PhaseResult;
  changed?: PhaseResult;
}

/** renderSweep returns the chunker sweep table: throughput, repository size, and what the change added. */
export function renderSweep(rows: SweepRow[], markdown: boolean): string {
  const columns: Column[] = [
    { header: 'chunker min/avg/max', align: 'left' },
    { header: 'initial MB/s', align: 'right' },
    { header: 'repo MB', align: 'right' },
    { header: 'repo MB after change', align: 'right' },
    { header: 'added by change MB', align: 'right' },
    { header: 'change re-backup s', align: 'right' },
    { header: 'peak RSS MB', align: 'right' },
  ];
  const cells = rows.map(({ tool, initial, changed }) => {
    const before = initial?.repoBytes;
    const after = changed?.repoBytes;
    const rss = Math.max(initial?.measurement?.peakRssBytes ?? 0, changed?.measurement?.peakRssBytes ?? 0);
    return [
      tool.replace(/^cumulus /, ''),
      fixed(throughput(initial), 1),
      fixed(before === undefined ? undefined : megabytes(before), 1),
      fixed(after === undefined ? undefined : megabytes(after), 1),
      fixed(before === undefined || after === undefined ? undefined : megabytes(after - before), 2),
      fixed(changed?.measurement?.wallSeconds, 2),
      rss > 0 ? fixed(megabytes(rss), 1) : '—',
    ];
  });
  return renderTable(columns, cells, markdown);
}
