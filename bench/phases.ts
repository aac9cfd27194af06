/**
 * Phases: runs every tool through initial backup, unchanged re-backup, re-backup after a
 * deterministic change, and restore, `runs` times. Runs alternate between tools (tool A
 * run 1, tool B run 1, …, then A run 2, …), each run from fresh repositories, phase by
 * phase (all tools see the same corpus state), one tool at a time (so they never compete
 * for the cores); the change is undone between runs. Each step is caught: a tool that
 * fails is reported and skipped in the later phases of that run while the others go on.
 */
import { readdirSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { basename, join } from 'node:path';
import { type Corpus, type Mutation, mutateCorpus, mutationSize, unmutateCorpus } from './corpus.ts';
import { workDir } from './paths.ts';
import { type PhaseLoad, type PhaseName, type PhaseResult, phaseTitles } from './report.ts';
import { safeName, type Tool } from './tools.ts';
import { compareDigests, describeDifference, type TreeDigest, treeDigest, treeStats } from './tree.ts';

/** PhaseRun is what runPhases did: the results in order, the change it applied, and the load around each phase. */
export interface PhaseRun {
  results: PhaseResult[];
  mutation?: Mutation;
  loads: PhaseLoad[];
}

/** log prints a timestamped progress line on stderr. */
export function log(message: string): void {
  console.error(`[${new Date().toISOString().slice(11, 19)}] ${message}`);
}

function sameNames(a: string, b: string): boolean {
  return readdirSync(a).sort().join('\0') === readdirSync(b).sort().join('\0');
}

/**
 * restoredRoot finds the source tree inside a restore target: tools put it at the top, or
 * under the source's absolute path, or under its base name.
 */
export function restoredRoot(target: string, source: string): string {
  const candidates = [target, join(target, source), join(target, basename(source))];
  return (
    candidates.find((candidate) => {
      try {
        return sameNames(candidate, source);
      } catch {
        return false;
      }
    }) ?? target
  );
}

/**
 * runPhases runs `phases` for every tool on `corpus` `runs` times (the initial backup always
 * runs when a later phase needs it), mutating the corpus by `percent`% before the "changed"
 * phase and undoing it after the run. Repositories are deleted before each run, and after
 * the last unless `keepRepos`.
 */
export async function runPhases(
  tools: Tool[],
  corpus: Corpus,
  options: { phases: PhaseName[]; percent: number; runs: number; keepRepos: boolean },
): Promise<PhaseRun> {
  const results: PhaseResult[] = [];
  const loads: PhaseLoad[] = [];
  const run: PhaseRun = { results, loads };
  const absent = new Map<Tool, string>();
  for (const tool of tools) {
    const missing = tool.missing();
    if (missing) {
      log(`${tool.name}: not available (${missing}); skipped`);
      absent.set(tool, 'not available');
    }
    await tool.clean();
  }

  let expected: TreeDigest | undefined;
  let blocked = new Map<Tool, string>();
  let number = 0;

  async function phase(name: PhaseName, work: (tool: Tool) => () => Promise<Partial<PhaseResult>>) {
    const start = loadavg()[0];
    const corpusBytes = treeStats(corpus.root).bytes;
    for (const tool of tools) {
      const reason = absent.get(tool) ?? blocked.get(tool);
      const base = { tool: tool.name, phase: name, run: number, corpusBytes };
      if (reason) {
        results.push({ ...base, skipped: reason });
        continue;
      }
      log(
        `${corpus.plan.name} corpus, run ${number}/${options.runs}, ${tool.name}: ${phaseTitles[name].toLowerCase()} …`,
      );
      try {
        const outcome = await work(tool)();
        results.push({ ...base, ...outcome });
        log(`${tool.name}: ${outcome.measurement?.wallSeconds.toFixed(2)} s`);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        results.push({ ...base, error: message });
        blocked.set(tool, `${phaseTitles[name].toLowerCase()} failed`);
        log(`${tool.name}: FAILED — ${message.split('\n')[0]}`);
      }
    }
    loads.push({ phase: name, run: number, start, end: loadavg()[0] });
  }

  const backup = (label: string) => (tool: Tool) => async (): Promise<Partial<PhaseResult>> => {
    if (label === 'initial') await tool.init();
    const measurement = await tool.backup(corpus.root, label);
    return { measurement, repoBytes: tool.repoBytes(), cacheBytes: tool.cacheBytes() };
  };

  const restore = (tool: Tool) => async (): Promise<Partial<PhaseResult>> => {
    const target = `${workDir}/restore/${safeName(tool.name)}`;
    rmSync(target, { recursive: true, force: true });
    try {
      const measurement = await tool.restore(target);
      expected ??= treeDigest(corpus.root);
      const differences = compareDigests(expected, treeDigest(restoredRoot(target, corpus.root)));
      if (differences.length === 0) return { measurement, repoBytes: tool.repoBytes(), verified: 'ok' };
      log(`!!! ${tool.name}: THE RESTORED TREE DIFFERS FROM THE SOURCE in ${differences.length} paths:`);
      for (const difference of differences.slice(0, 10)) log(`!!!   ${describeDifference(difference)}`);
      const verified = `${differences.length} paths differ, e.g. ${describeDifference(differences[0])}`;
      return { measurement, repoBytes: tool.repoBytes(), verified };
    } finally {
      rmSync(target, { recursive: true, force: true });
    }
  };

  const wanted = new Set(options.phases);
  const needsBackup = ['backup', 'unchanged', 'changed', 'restore'].some((phase) =>
    wanted.has(phase as PhaseName),
  );
  // Reading the whole corpus once puts it in the page cache, so the first tool is not
  // the only one to read from disk; the digest serves the restore check if nothing changes.
  if (needsBackup) expected = treeDigest(corpus.root);
  try {
    for (number = 1; number <= options.runs; number++) {
      blocked = new Map();
      if (number > 1) for (const tool of tools) await tool.dropRepository();
      if (needsBackup) await phase('backup', backup('initial'));
      if (wanted.has('unchanged')) await phase('unchanged', backup('unchanged'));
      if (wanted.has('changed')) {
        run.mutation = mutateCorpus(corpus, options.percent);
        expected = undefined;
        log(`corpus: changed ${mutationSize(run.mutation)} files (${options.percent}%)`);
        await phase('changed', backup('changed'));
      }
      if (wanted.has('restore')) await phase('restore', restore);
      if (corpus.mutation) {
        unmutateCorpus(corpus);
        expected = undefined;
      }
    }
  } finally {
    for (const tool of tools) {
      await tool.close();
      if (!options.keepRepos) await tool.dropRepository();
    }
    unmutateCorpus(corpus);
  }
  return run;
}
