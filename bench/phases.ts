/**
 * Phases: runs every tool through initial backup, unchanged re-backup, re-backup after a
 * deterministic change, and restore, phase by phase (all tools see the same corpus state),
 * one at a time (so they never compete for the cores). Each step is caught: a tool that
 * fails is reported and skipped in the later phases while the others go on.
 */
import { readdirSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { type Corpus, type Mutation, mutateCorpus, mutationSize } from './corpus.ts';
import { workDir } from './paths.ts';
import { type PhaseName, type PhaseResult, phaseTitles } from './report.ts';
import { safeName, type Tool } from './tools.ts';
import { compareDigests, describeDifference, type TreeDigest, treeDigest, treeStats } from './tree.ts';

/** PhaseRun is what runPhases did: the results in order, and the change it applied, if any. */
export interface PhaseRun {
  results: PhaseResult[];
  mutation?: Mutation;
}

function log(message: string): void {
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
 * runPhases runs `phases` for every tool on `corpus` (the initial backup always runs when a
 * later phase needs it), mutating the corpus by `percent`% before the "changed" phase.
 * Repositories are deleted first, and afterwards unless `keepRepos`.
 */
export async function runPhases(
  tools: Tool[],
  corpus: Corpus,
  options: { phases: PhaseName[]; percent: number; keepRepos: boolean },
): Promise<PhaseRun> {
  const results: PhaseResult[] = [];
  const blocked = new Map<Tool, string>();
  const run: PhaseRun = { results };
  for (const tool of tools) {
    const missing = tool.missing();
    if (missing) {
      log(`${tool.name}: not available (${missing}); skipped`);
      blocked.set(tool, 'not available');
    }
    tool.clean();
  }

  async function attempt(
    tool: Tool,
    phase: PhaseName,
    corpusBytes: number,
    work: () => Promise<Partial<PhaseResult>>,
  ) {
    const reason = blocked.get(tool);
    if (reason) {
      results.push({ tool: tool.name, phase, corpusBytes, skipped: reason });
      return;
    }
    log(`${tool.name}: ${phaseTitles[phase].toLowerCase()} …`);
    try {
      const outcome = await work();
      results.push({ tool: tool.name, phase, corpusBytes, ...outcome });
      log(`${tool.name}: ${outcome.measurement?.wallSeconds.toFixed(2)} s`);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      results.push({ tool: tool.name, phase, corpusBytes, error: message });
      blocked.set(tool, `${phaseTitles[phase].toLowerCase()} failed`);
      log(`${tool.name}: FAILED — ${message.split('\n')[0]}`);
    }
  }

  const backup = (tool: Tool, label: string) => async (): Promise<Partial<PhaseResult>> => {
    if (label === 'initial') await tool.init();
    const measurement = await tool.backup(corpus.root, label);
    return { measurement, repoBytes: tool.repoBytes(), cacheBytes: tool.cacheBytes() };
  };

  let expected: TreeDigest | undefined;
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
  let corpusBytes = treeStats(corpus.root).bytes;
  // Reading the whole corpus once puts it in the page cache, so the first tool is not
  // the only one to read from disk; the digest serves the restore check if nothing changes.
  if (needsBackup) expected = treeDigest(corpus.root);
  try {
    if (needsBackup)
      for (const tool of tools) await attempt(tool, 'backup', corpusBytes, backup(tool, 'initial'));
    if (wanted.has('unchanged'))
      for (const tool of tools) await attempt(tool, 'unchanged', corpusBytes, backup(tool, 'unchanged'));
    if (wanted.has('changed')) {
      run.mutation = mutateCorpus(corpus, options.percent);
      expected = undefined;
      corpusBytes = treeStats(corpus.root).bytes;
      log(`corpus: changed ${mutationSize(run.mutation)} files (${options.percent}%)`);
      for (const tool of tools) await attempt(tool, 'changed', corpusBytes, backup(tool, 'changed'));
    }
    if (wanted.has('restore'))
      for (const tool of tools) await attempt(tool, 'restore', corpusBytes, restore(tool));
  } finally {
    if (!options.keepRepos) for (const tool of tools) tool.dropRepository();
  }
  return run;
}
