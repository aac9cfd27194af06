/**
 * Report: the benchmark's results as data, and their tables. Each tool runs each phase
 * several times; a table shows min / median / max of wall time, CPU time and peak RSS, and
 * ratios of medians against restic in the same run: throughput ratios (restic s ÷ tool s)
 * for backups and restore, a time ratio (tool s ÷ restic s) for the unchanged re-backup,
 * where less is better.
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

/** SERVER_TOOL is the name of Cumulus through a server process (bench/server.ts), compared with local `cumulus`. */
export const SERVER_TOOL = 'cumulus via server';

/** PhaseResult is one tool's outcome in one phase of one run: a measurement, an error, or why it was skipped. */
export interface PhaseResult {
  tool: string;
  phase: PhaseName;
  /** run counts from 1. */
  run: number;
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

/** PhaseLoad is the 1-minute load average when one run of a phase started and ended. */
export interface PhaseLoad {
  phase: PhaseName;
  run: number;
  start: number;
  end: number;
}

/** Spread is the minimum, median and maximum of some runs' values. */
export interface Spread {
  min: number;
  median: number;
  max: number;
}

/** median returns the middle value (the mean of the two middle ones for an even count). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function spread(values: number[]): Spread | undefined {
  if (values.length === 0) return undefined;
  return { min: Math.min(...values), median: median(values), max: Math.max(...values) };
}

/** PhaseSummary is one tool's runs of one phase, summed up. */
export interface PhaseSummary {
  tool: string;
  phase: PhaseName;
  /** measured is how many runs produced a measurement; failed and skipped count the others. */
  measured: number;
  failed: number;
  skipped: number;
  /** why is the reason of the last skipped run. */
  why?: string;
  wall?: Spread;
  cpu?: Spread;
  rss?: Spread;
  serverCpu?: Spread;
  serverRss?: Spread;
  corpusBytes: number;
  /** repoBytes is the median repository size after the phase. */
  repoBytes?: number;
  /** identical counts the restores whose tree matched the source; mismatch is the first difference found. */
  identical: number;
  mismatch?: string;
}

/** summarize returns one summary per tool of `phase`, in the order the tools ran. */
export function summarize(results: PhaseResult[], phase: PhaseName): PhaseSummary[] {
  const rows = results.filter((result) => result.phase === phase);
  const tools = [...new Set(rows.map((result) => result.tool))];
  return tools.map((tool) => {
    const runs = rows.filter((result) => result.tool === tool);
    const measured = runs.filter((result) => result.measurement);
    const values = (pick: (m: Measurement) => number | undefined) =>
      spread(measured.map((result) => pick(result.measurement!)).filter((value) => value !== undefined));
    const repos = measured.map((result) => result.repoBytes).filter((value) => value !== undefined);
    return {
      tool,
      phase,
      measured: measured.length,
      failed: runs.filter((result) => result.error).length,
      skipped: runs.filter((result) => result.skipped).length,
      why: runs.findLast((result) => result.skipped)?.skipped,
      wall: values((m) => m.wallSeconds),
      cpu: values((m) => m.cpuSeconds),
      rss: values((m) => m.peakRssBytes),
      serverCpu: values((m) => m.server?.cpuSeconds),
      serverRss: values((m) => m.server?.peakRssBytes),
      corpusBytes: median(runs.map((result) => result.corpusBytes)),
      repoBytes: repos.length > 0 ? median(repos) : undefined,
      identical: runs.filter((result) => result.verified === 'ok').length,
      mismatch: runs.find((result) => result.verified && result.verified !== 'ok')?.verified,
    };
  });
}

function ratio(value: number | undefined, base: number | undefined): string {
  if (value === undefined || base === undefined || base === 0) return '—';
  return `${(value / base).toFixed(2)}×`;
}

/** cell writes a spread as "min / median / max". */
function cell(value: Spread | undefined, digits: number, scale = 1): string {
  if (!value) return '—';
  return [value.min, value.median, value.max].map((v) => fixed(v / scale, digits)).join(' / ');
}

function throughput(summary: PhaseSummary | undefined): number | undefined {
  return summary?.wall ? megabytes(summary.corpusBytes) / summary.wall.median : undefined;
}

function toolCell(summary: PhaseSummary): string {
  const lost = summary.failed + summary.skipped;
  return lost > 0 && summary.measured > 0
    ? `${summary.tool} (${lost} of ${lost + summary.measured} runs lost)`
    : summary.tool;
}

/** renderPhase returns the table of one phase, one row per tool, in the order they ran. */
export function renderPhase(phase: PhaseName, results: PhaseResult[], markdown: boolean): string {
  const summaries = summarize(results, phase);
  const restic = summaries.find((summary) => summary.tool === 'restic' && summary.wall);
  const byTime = phase === 'unchanged';
  const columns: Column[] = [
    { header: 'tool', align: 'left' },
    { header: 'wall s min / med / max', align: 'right' },
    { header: 'CPU s min / med / max', align: 'right' },
    { header: 'peak RSS MB min / med / max', align: 'right' },
    { header: 'MB/s', align: 'right' },
    { header: byTime ? 'time × restic' : 'MB/s × restic', align: 'right' },
    { header: 'RSS × restic', align: 'right' },
    { header: 'repo MB', align: 'right' },
    { header: 'repo × restic', align: 'right' },
  ];
  if (phase === 'restore') columns.push({ header: 'restored tree', align: 'left' });
  const cells = summaries.map((summary) => {
    if (!summary.wall) {
      const why =
        summary.failed > 0
          ? `FAILED in ${summary.failed} of ${summary.failed + summary.skipped} runs (see below)`
          : `skipped: ${summary.why}`;
      return [summary.tool, why, ...columns.slice(2).map(() => '—')];
    }
    const row = [
      toolCell(summary),
      cell(summary.wall, 2),
      cell(summary.cpu, 2),
      cell(summary.rss, 0, 1e6),
      fixed(throughput(summary), 1),
      byTime
        ? ratio(summary.wall.median, restic?.wall?.median)
        : ratio(restic?.wall?.median, summary.wall.median),
      ratio(summary.rss?.median, restic?.rss?.median),
      fixed(summary.repoBytes === undefined ? undefined : megabytes(summary.repoBytes), 1),
      ratio(summary.repoBytes, restic?.repoBytes),
    ];
    if (phase === 'restore') {
      row.push(
        summary.mismatch
          ? `MISMATCH: ${summary.mismatch}`
          : `${summary.identical} of ${summary.measured} identical`,
      );
    }
    return row;
  });
  return renderTable(columns, cells, markdown);
}

/** renderLoads returns one line: the load average at the start and end of each run of `phase`. */
export function renderLoads(phase: PhaseName, loads: PhaseLoad[]): string {
  const runs = loads.filter((load) => load.phase === phase);
  return `Load average (1 min) at start → end of each run: ${runs.map((load) => `${load.start.toFixed(2)} → ${load.end.toFixed(2)}`).join(', ')}.`;
}

/**
 * renderServerVsLocal compares Cumulus through a server process with local Cumulus, phase
 * by phase (speed = local median time ÷ server median time), with the server process's own
 * CPU time and peak RSS; undefined when the results hold no server runs.
 */
export function renderServerVsLocal(results: PhaseResult[], markdown: boolean): string | undefined {
  const rows: string[][] = [];
  for (const phase of phaseNames) {
    const summaries = summarize(results, phase);
    const local = summaries.find((summary) => summary.tool === 'cumulus');
    const server = summaries.find((summary) => summary.tool === SERVER_TOOL);
    if (!local || !server) continue;
    rows.push([
      phaseTitles[phase],
      cell(local.wall, 2),
      server.wall
        ? cell(server.wall, 2)
        : server.failed > 0
          ? `FAILED in ${server.failed} runs`
          : `skipped: ${server.why}`,
      ratio(local.wall?.median, server.wall?.median),
      cell(server.cpu, 2),
      cell(server.serverCpu, 2),
      cell(server.serverRss, 0, 1e6),
    ]);
  }
  if (rows.length === 0) return undefined;
  const columns: Column[] = [
    { header: 'phase', align: 'left' },
    { header: 'local wall s min / med / max', align: 'right' },
    { header: 'via server wall s', align: 'right' },
    { header: 'speed vs local', align: 'right' },
    { header: 'client CPU s', align: 'right' },
    { header: 'server CPU s', align: 'right' },
    { header: 'server peak RSS MB', align: 'right' },
  ];
  return renderTable(columns, rows, markdown);
}

/** failures returns one paragraph per failed run of a phase, for printing under the tables. */
export function failures(results: PhaseResult[]): string[] {
  return results
    .filter((result) => result.error)
    .map((result) => `${result.tool}, ${phaseTitles[result.phase]}, run ${result.run}: ${result.error}`);
}

/** renderSweep returns the chunker sweep table: throughput, repository size, and what the change added (medians). */
export function renderSweep(results: PhaseResult[], markdown: boolean): string {
  const initial = summarize(results, 'backup');
  const changed = summarize(results, 'changed');
  const columns: Column[] = [
    { header: 'chunker min/avg/max', align: 'left' },
    { header: 'initial MB/s', align: 'right' },
    { header: 'repo MB', align: 'right' },
    { header: 'repo MB after change', align: 'right' },
    { header: 'added by change MB', align: 'right' },
    { header: 'change re-backup s', align: 'right' },
    { header: 'peak RSS MB', align: 'right' },
  ];
  const cells = initial.map((first) => {
    const after = changed.find((summary) => summary.tool === first.tool);
    const before = first.repoBytes;
    const grown = after?.repoBytes;
    const rss = Math.max(first.rss?.max ?? 0, after?.rss?.max ?? 0);
    return [
      first.tool.replace(/^cumulus /, ''),
      fixed(throughput(first), 1),
      fixed(before === undefined ? undefined : megabytes(before), 1),
      fixed(grown === undefined ? undefined : megabytes(grown), 1),
      fixed(before === undefined || grown === undefined ? undefined : megabytes(grown - before), 2),
      fixed(after?.wall?.median, 2),
      rss > 0 ? fixed(megabytes(rss), 1) : '—',
    ];
  });
  return renderTable(columns, cells, markdown);
}
