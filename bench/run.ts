/**
 * `npm run bench`: builds the deterministic corpus and runs Cumulus, restic and borg on it
 * in the same run — initial backup, unchanged re-backup, re-backup after ~1% of files
 * change, restore (verified) — then prints one table per phase with ratios to restic.
 * `--sweep-chunker` compares Cumulus chunker sizes instead; `--memory` runs the memory
 * benchmark. `--help` lists every option.
 */
import { existsSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { ensureCorpus, mutationSize, planBytes } from './corpus.ts';
import { renderMemory, runMemoryBench } from './memory.ts';
import { runPhases } from './phases.ts';
import { failures, type PhaseName, phaseNames, phaseTitles, renderPhase, renderSweep } from './report.ts';
import { renderServerBench, runServerBench } from './server.ts';
import { type Chunker, gnuTimeMissing, makeTool, type Tool, type ToolName, toolNames } from './tools.ts';
import { parseSize } from './units.ts';

const usage = `Usage: npm run bench -- [options]

  --scale N             corpus size in GB (default 1; 0.05 for a quick run)
  --tools LIST          any of cumulus,restic,borg (default all three)
  --phases LIST         any of core,backup,unchanged,changed,restore (default all)
  --change PERCENT      share of files the "changed" phase modifies (default 1)
  --chunker MIN,AVG,MAX cumulus chunker sizes, e.g. 512K,1M,8M (passed as CUMULUS_CHUNKER);
                        repeat it with --sweep-chunker to choose the candidates
  --sweep-chunker       run only cumulus, once per chunker candidate, and compare
                        throughput and repository growth after the change
  --memory              memory benchmark instead: one big file and many small files
  --big-size SIZE       size of the memory benchmark's big file (default 5G)
  --files N             number of files in the memory benchmark's tree (default 1000000)
  --skip-server         skip the server benchmark (through the server vs local, N devices; ~15 s)
  --server-mb N         corpus of the server benchmark in MiB (default 64)
  --devices N           devices backing up at once in the server benchmark (default 20)
  --markdown            print Markdown tables (for the README)
  --json                print one JSON document on stdout instead of tables
  --keep-repos          keep the repositories in .bench/repos after the run
`;

const defaultSweep = ['128K,512K,2M', '256K,1M,4M', '512K,1M,8M', '1M,2M,8M', '2M,4M,8M'];

interface Options {
  scale: number;
  tools: ToolName[];
  phases: string[];
  percent: number;
  chunkers: Chunker[];
  sweep: boolean;
  memory: boolean;
  bigBytes: number;
  files: number;
  markdown: boolean;
  json: boolean;
  keepRepos: boolean;
  server: boolean;
  serverMb: number;
  devices: number;
}

function parseList<T extends string>(text: string, allowed: readonly T[], flag: string): T[] {
  const items = text
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
  const unknown = items.filter((item) => !allowed.includes(item as T));
  if (unknown.length > 0 || items.length === 0)
    throw new Error(`${flag}: expected some of ${allowed.join(',')}, got "${text}"`);
  return items as T[];
}

function parseChunker(text: string): Chunker {
  const sizes = text.split(',').map(parseSize);
  const [min, avg, max] = sizes;
  if (sizes.length !== 3 || !(min < avg && avg < max))
    throw new Error(`--chunker: expected MIN,AVG,MAX with MIN < AVG < MAX, got "${text}"`);
  return { min, avg, max };
}

function positive(text: string, flag: string): number {
  const value = Number(text);
  if (!(value > 0)) throw new Error(`${flag}: expected a positive number, got "${text}"`);
  return value;
}

function parseOptions(argv: string[]): Options | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      scale: { type: 'string', default: '1' },
      tools: { type: 'string', default: toolNames.join(',') },
      phases: { type: 'string', default: ['core', ...phaseNames].join(',') },
      change: { type: 'string', default: '1' },
      chunker: { type: 'string', multiple: true },
      'sweep-chunker': { type: 'boolean', default: false },
      memory: { type: 'boolean', default: false },
      'big-size': { type: 'string', default: '5G' },
      files: { type: 'string', default: '1000000' },
      markdown: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      'keep-repos': { type: 'boolean', default: false },
      'skip-server': { type: 'boolean', default: false },
      'server-mb': { type: 'string', default: '64' },
      devices: { type: 'string', default: '20' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return undefined;
  const chunkers = (values.chunker ?? []).map(parseChunker);
  const sweep = values['sweep-chunker'];
  if (chunkers.length > 1 && !sweep) throw new Error('--chunker: give one, or several with --sweep-chunker');
  return {
    scale: positive(values.scale, '--scale'),
    tools: parseList(values.tools, toolNames, '--tools'),
    phases: parseList(values.phases, ['core', ...phaseNames], '--phases'),
    percent: positive(values.change, '--change'),
    chunkers: sweep && chunkers.length === 0 ? defaultSweep.map(parseChunker) : chunkers,
    sweep,
    memory: values.memory,
    bigBytes: parseSize(values['big-size']),
    files: Math.round(positive(values.files, '--files')),
    markdown: values.markdown,
    json: values.json,
    keepRepos: values['keep-repos'],
    server: !values['skip-server'] && !sweep,
    serverMb: Math.round(positive(values['server-mb'], '--server-mb')),
    devices: Math.round(positive(values.devices, '--devices')),
  };
}

/** runCore runs the core micro-benchmarks of bench/core.ts (another module), when it exists. */
async function runCore(options: Options): Promise<unknown> {
  const url = new URL('./core.ts', import.meta.url);
  if (!existsSync(url)) {
    console.error('core micro-benchmarks: bench/core.ts does not exist yet; skipped');
    return undefined;
  }
  const module = (await import(url.href)) as {
    runCoreBench?: (options: { markdown: boolean; json: boolean }) => unknown;
  };
  if (typeof module.runCoreBench !== 'function')
    throw new Error('bench/core.ts does not export runCoreBench()');
  return await module.runCoreBench({ markdown: options.markdown, json: options.json });
}

function machine() {
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGB: Number((totalmem() / 1e9).toFixed(1)),
    loadAverage: loadavg().map((load) => Number(load.toFixed(2))),
    node: process.version,
  };
}

function heading(text: string, markdown: boolean): string {
  return markdown ? `\n### ${text}\n` : `\n${text}\n`;
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  if (!options) {
    process.stdout.write(usage);
    return 0;
  }
  const timeMissing = gnuTimeMissing();
  if (timeMissing) throw new Error(timeMissing);
  const started = performance.now();
  const host = machine();
  if (host.loadAverage[0] > host.cores / 2) {
    console.error(
      `note: load average is ${host.loadAverage[0]} on ${host.cores} cores; other work may skew the timings`,
    );
  }
  const out: string[] = [];
  const report: Record<string, unknown> = { date: new Date().toISOString(), machine: host };
  let ok = true;

  if (options.memory) {
    const results = await runMemoryBench(options);
    ok = results.every((result) => !result.error);
    report.memory = results;
    out.push(heading('Peak memory', options.markdown), renderMemory(results, options.markdown));
  } else {
    if (options.phases.includes('core') && !options.sweep) {
      if (!options.json)
        process.stdout.write(`${heading('Core micro-benchmarks (MB/s per core)', options.markdown)}\n`);
      report.core = await runCore(options);
    }
    const phases = options.phases.filter((phase): phase is PhaseName => phase !== 'core');
    if (phases.length > 0) {
      const tools: Tool[] = options.sweep
        ? options.chunkers.map((chunker) => makeTool('cumulus', { chunker }))
        : options.tools.map((name) => makeTool(name, { chunker: options.chunkers[0] }));
      const corpus = ensureCorpus(options.scale);
      const corpusSummary = {
        scale: options.scale,
        files: corpus.plan.files.length,
        bytes: planBytes(corpus.plan),
      };
      const run = await runPhases(tools, corpus, {
        phases: options.sweep ? ['backup', 'changed'] : phases,
        percent: options.percent,
        keepRepos: options.keepRepos,
      });
      ok = run.results.every((result) => !result.error && (result.verified ?? 'ok') === 'ok');
      report.corpus = {
        ...corpusSummary,
        changedFiles: run.mutation ? mutationSize(run.mutation) : 0,
        changePercent: options.percent,
      };
      const described = tools.map((tool) => ({
        name: tool.name,
        settings: tool.settings,
        missing: tool.missing(),
        version: tool.missing() ? undefined : tool.version(),
      }));
      report.tools = described;
      report.results = run.results;
      out.push(
        `Corpus: ${(corpusSummary.bytes / 1e9).toFixed(2)} GB in ${corpusSummary.files} files (scale ${options.scale}); ` +
          `the change touches ${run.mutation ? mutationSize(run.mutation) : 0} files (${options.percent}%).`,
      );
      if (options.sweep) {
        const rows = tools.map((tool) => ({
          tool: tool.name,
          initial: run.results.find((result) => result.tool === tool.name && result.phase === 'backup'),
          changed: run.results.find((result) => result.tool === tool.name && result.phase === 'changed'),
        }));
        out.push(heading('Chunker sweep (cumulus)', options.markdown), renderSweep(rows, options.markdown));
      } else {
        for (const phase of phaseNames) {
          if (run.results.some((result) => result.phase === phase)) {
            out.push(
              heading(phaseTitles[phase], options.markdown),
              renderPhase(phase, run.results, options.markdown),
            );
          }
        }
      }
      const notes = described.map(
        (tool) =>
          `- ${tool.name}: ${tool.missing ? `not available (${tool.missing})` : `${tool.version}; ${tool.settings}`}`,
      );
      out.push(
        '',
        `Machine: ${host.cpu}, ${host.cores} cores, ${host.memoryGB} GB RAM, Node ${host.node}; load average at start ${host.loadAverage.join(' ')}.`,
        'MB = 10^6 bytes. MB/s = corpus bytes ÷ wall time. Repo size = sum of file sizes in the repository (caches not counted). Peak RSS from GNU time (%M).',
        ...notes,
      );
      const failed = failures(run.results);
      if (failed.length > 0) out.push('', 'Failures:', ...failed.map((failure) => `- ${failure}`));
    }
    if (options.server) {
      const server = await runServerBench({ mb: options.serverMb, devices: options.devices, runs: 3 });
      report.server = server;
      ok &&= server.devices.errors === 0;
      out.push(
        heading('Through the server vs local (Cumulus, loopback)', options.markdown),
        renderServerBench(server, options.markdown),
        '',
        `MiB = 2^20 bytes. ${server.mb} files of 1 MiB of random bytes; local and server runs alternate; client and server share this process. ${server.seconds.toFixed(0)} s.`,
      );
    }
  }
  const seconds = (performance.now() - started) / 1000;
  report.totalSeconds = Number(seconds.toFixed(1));
  if (options.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else process.stdout.write(`${out.join('\n')}\n\nTotal benchmark time: ${seconds.toFixed(0)} s\n`);
  return ok ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 2;
  },
);
