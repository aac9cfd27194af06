import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ensureCorpus } from './corpus.ts';
import { runPhases } from './phases.ts';
import type { Measurement, Tool } from './tools.ts';

const dir = mkdtempSync(join(tmpdir(), 'bench-phases-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const cost: Measurement = { wallSeconds: 0.5, cpuSeconds: 0.4, peakRssBytes: 50e6 };

/** fakeTool "backs up" by copying the tree; `fault` makes one step fail or lose a file. */
function fakeTool(name: string, fault?: 'unchanged-fails' | 'restore-loses-a-file' | 'missing'): Tool {
  const repo = join(dir, `repo-${name}`);
  return {
    name,
    settings: 'fake',
    missing: () => (fault === 'missing' ? 'not installed' : undefined),
    version: () => '1.0',
    clean: async () => rmSync(repo, { recursive: true, force: true }),
    dropRepository: async () => rmSync(repo, { recursive: true, force: true }),
    close: async () => {},
    init: async () => cost,
    backup: async (source, label) => {
      if (label === 'unchanged' && fault === 'unchanged-fails') throw new Error('repository is locked');
      rmSync(repo, { recursive: true, force: true });
      cpSync(source, repo, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
      return cost;
    },
    restore: async (target) => {
      cpSync(repo, target, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
      if (fault === 'restore-loses-a-file') rmSync(join(target, 'data'), { recursive: true });
      return cost;
    },
    repoBytes: () => 1000,
    cacheBytes: () => 0,
  };
}

test('runPhases alternates runs between tools, reports a failing tool and a tool that restores a different tree, and carries on with the others', async () => {
  const corpus = ensureCorpus('mixed', 0.005, join(dir, 'corpus'));
  const tools = [
    fakeTool('good'),
    fakeTool('flaky', 'unchanged-fails'),
    fakeTool('lossy', 'restore-loses-a-file'),
    fakeTool('absent', 'missing'),
  ];
  const run = await runPhases(tools, corpus, {
    phases: ['backup', 'unchanged', 'changed', 'restore'],
    percent: 1,
    runs: 2,
    keepRepos: false,
  });
  const outcome = (tool: string, phase: string, number = 2) =>
    run.results.find((result) => result.tool === tool && result.phase === phase && result.run === number)!;

  assert.equal(outcome('good', 'restore').verified, 'ok', 'the restored tree matches the changed corpus');
  assert.ok(outcome('good', 'changed').corpusBytes > outcome('good', 'backup').corpusBytes);
  assert.match(outcome('flaky', 'unchanged').error!, /repository is locked/);
  assert.equal(outcome('flaky', 'changed').skipped, 'unchanged re-backup failed');
  assert.match(outcome('lossy', 'restore').verified!, /paths differ, e\.g\. missing: data/);
  assert.equal(outcome('absent', 'backup').skipped, 'not available');
  assert.equal(outcome('flaky', 'backup', 2).measurement, cost, 'a failure costs only the rest of its run');
  assert.equal(run.results.length, 4 * 4 * 2);
  assert.deepEqual(
    run.results.filter((result) => result.phase === 'backup').map((result) => `${result.tool} ${result.run}`),
    ['good 1', 'flaky 1', 'lossy 1', 'absent 1', 'good 2', 'flaky 2', 'lossy 2', 'absent 2'],
    'runs alternate between tools',
  );
  assert.equal(run.loads.length, 4 * 2, 'the load average around every phase of every run');
  assert.equal(corpus.mutation, null, 'the change is undone after the runs');
});
