/**
 * `npm run bench`: builds the deterministic corpora (mixed, and a source tree) and runs
 * Cumulus, restic and borg on each in the same run — initial backup, unchanged re-backup,
 * re-backup after ~1% of files change, restore (verified) — `--runs` times, alternating
 * between tools, plus Cumulus through a real server process on the source tree; then
 * prints one table per corpus and phase (min / median / max, ratios of medians to restic).
 * `--sweep-chunker` compares Cumulus chunker sizes instead; `--memory` runs the memory
 * benchmark; `--browser-restore` the console's in-browser restore of one big file
 * (bench/browser-restore.ts); `--scale-out` devices backing up at once through HAProxy to one
 * or three replicas, embedded vs PostgreSQL + S3 (bench/scale-out.ts). `--help` lists every option.
 */
import { existsSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { renderBrowserRestore, runBrowserRestore } from './browser-restore.ts';
import {
  type CorpusName,
  corpusNames,
  corpusRoot,
  ensureCorpus,
  mutationSize,
  planBytes,
  planCorpus,
} from './corpus.ts';
import { renderMemory, runMemoryBench } from './memory.ts';
import { type PhaseRun, runPhases } from './phases.ts';
import {
  failures,
  type PhaseName,
  phaseNames,
  phaseTitles,
  renderLoads,
  renderPhase,
  renderServerVsLocal,
  renderSweep,
} from './report.ts';
import { renderScaleOut, runScaleOut } from './scale-out.ts';
import { renderDevices, runDevices, serverTool } from './server.ts';
import { type Chunker, gnuTimeMissing, makeTool, type Tool, type ToolName, toolNames } from './tools.ts';
import { parseSize } from './units.ts';

const usage = `Usage: npm run bench -- [options]

  --corpus NAME         mixed, source or both (default both): the ~1 GB mixed corpus and/or
                        the ~1.3 GB source tree (80,000 files at scale 1)
  --scale N             corpus size relative to the full one (default 1; 0.1 for a smoke check)
  --runs N              runs of every tool and phase, alternating between tools (default 3)
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
  --browser-restore     in-browser restore instead: the web console in headless Chromium
                        downloads one big file from a server process, --runs times
  --restore-size SIZE   size of that file (default 200M)
  --scale-out           scale-out instead: --accounts × --per-account devices back up at once
                        through HAProxy, embedded (1 replica) vs PostgreSQL + S3 (1 and 3
                        replicas), --runs times alternating
  --accounts N          accounts of the scale-out run (default 40)
  --per-account N       devices per account in the scale-out run (default 5)
  --skip-server         leave out Cumulus through a server process (source corpus) and the
                        N-devices run
  --devices N           devices backing up at once in the N-devices run (default 20)
  --markdown            print Markdown tables (for the README)
  --json                print one JSON document on stdout instead of tables
  --keep-repos          keep the repositories of the last run in .bench/repos
`;

const defaultSweep = ['128K,512K,2M', '256K,1M,4M', '512K,1M,8M', '1M,2M,8M', '2M,4M,8M'];

interface Options {
  corpora: CorpusName[];
  scale: number;
  runs: number;
  tools: ToolName[];
  phases: string[];
  percent: number;
  chunkers: Chunker[];
  sweep: boolean;
  memory: boolean;
  browserRestore: boolean;
  scaleOut: boolean;
  accounts: number;
  perAccount: number;
  restoreBytes: number;
  bigBytes: number;
  files: number;
  markdown: boolean;
  json: boolean;
  keepRepos: boolean;
  server: boolean;
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
      corpus: { type: 'string', default: 'both' },
      scale: { type: 'string', default: '1' },
      runs: { type: 'string', default: '3' },
      tools: { type: 'string', default: toolNames.join(',') },
      phases: { type: 'string', default: ['core', ...phaseNames].join(',') },
      change: { type: 'string', default: '1' },
      chunker: { type: 'string', multiple: true },
      'sweep-chunker': { type: 'boolean', default: false },
      memory: { type: 'boolean', default: false },
      'browser-restore': { type: 'boolean', default: false },
      'restore-size': { type: 'string', default: '200M' },
      'scale-out': { type: 'boolean', default: false },
      accounts: { type: 'string', default: '40' },
      'per-account': { type: 'string', default: '5' },
      'big-size': { type: 'string', default: '5G' },
      files: { type: 'string', default: '1000000' },
      markdown: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      'keep-repos': { type: 'boolean', default: false },
      'skip-server': { type: 'boolean', default: false },
      devices: { type: 'string', default: '20' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return undefined;
  const chunkers = (values.chunker ?? []).map(parseChunker);
  const sweep = values['sweep-chunker'];
  if (chunkers.length > 1 && !sweep) throw new Error('--chunker: give one, or several with --sweep-chunker');
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1)
    throw new Error(`--runs: expected a whole number ≥ 1, got "${values.runs}"`);
  return {
    corpora: values.corpus === 'both' ? [...corpusNames] : parseList(values.corpus, corpusNames, '--corpus'),
    scale: positive(values.scale, '--scale'),
    runs,
    tools: parseList(values.tools, toolNames, '--tools'),
    phases: parseList(values.phases, ['core', ...phaseNames], '--phases'),
    percent: positive(values.change, '--change'),
    chunkers: sweep && chunkers.length === 0 ? defaultSweep.map(parseChunker) : chunkers,
    sweep,
    memory: values.memory,
    browserRestore: values['browser-restore'],
    scaleOut: values['scale-out'],
    accounts: Math.round(positive(values.accounts, '--accounts')),
    perAccount: Math.round(positive(values['per-account'], '--per-account')),
    restoreBytes: parseSize(values['restore-size']),
    bigBytes: parseSize(values['big-size']),
    files: Math.round(positive(values.files, '--files')),
    markdown: values.markdown,
    json: values.json,
    keepRepos: values['keep-repos'],
    server: !values['skip-server'] && !sweep,
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

const corpusTitles: Record<CorpusName, string> = { mixed: 'Mixed corpus', source: 'Source-tree corpus' };

/** toolsFor returns the tools measured on a corpus: Cumulus through a server joins on the source tree. */
function toolsFor(corpus: CorpusName, options: Options): Tool[] {
  if (options.sweep) return options.chunkers.map((chunker) => makeTool('cumulus', { chunker }));
  const tools = options.tools.map((name) => makeTool(name, { chunker: options.chunkers[0] }));
  if (corpus === 'source' && options.server && options.tools.includes('cumulus')) {
    // Right after local Cumulus, so the two runs compared are the closest in time.
    tools.splice(options.tools.indexOf('cumulus') + 1, 0, serverTool());
  }
  return tools;
}

/**
 * estimateSeconds is a rough forecast for an idle 2-core machine: per tool and run, seconds
 * per GB and per 10,000 files of each phase (from earlier runs of these corpora), plus the
 * restore check and generating a corpus that is not cached.
 */
function estimateSeconds(options: Options, phases: PhaseName[]): number {
  const perPhase: Record<PhaseName, { gb: number; tenThousand: number; fixed: number }> = {
    backup: { gb: 5, tenThousand: 0.6, fixed: 1 },
    unchanged: { gb: 0, tenThousand: 0.4, fixed: 0.5 },
    changed: { gb: 0, tenThousand: 0.5, fixed: 0.5 },
    restore: { gb: 9, tenThousand: 1.5, fixed: 0.5 },
  };
  let seconds = 0;
  for (const name of options.corpora) {
    const plan = planCorpus(name, options.scale);
    const gb = planBytes(plan) / 1e9;
    const tenThousand = plan.files.length / 10_000;
    if (!existsSync(`${corpusRoot(name)}.json`)) seconds += 15 * gb + tenThousand;
    const tools = toolsFor(name, options).length;
    for (const phase of phases) {
      const cost = perPhase[phase];
      seconds += options.runs * tools * (cost.fixed + cost.gb * gb + cost.tenThousand * tenThousand);
    }
    if (phases.includes('restore')) seconds += options.runs * (tools + 1) * (gb + 0.3 * tenThousand);
  }
  return seconds + (options.server && !options.sweep ? 15 : 0);
}

function heading(text: string, markdown: boolean, level = 3): string {
  return markdown ? `\n${'#'.repeat(level)} ${text}\n` : `\n${text}\n`;
}

function describeTools(tools: Tool[]) {
  return tools.map((tool) => ({
    name: tool.name,
    settings: tool.settings,
    missing: tool.missing(),
    version: tool.missing() ? undefined : tool.version(),
  }));
}

/** renderCorpus returns the tables of one corpus: one per phase, then through the server vs local. */
function renderCorpus(name: CorpusName, run: PhaseRun, summary: CorpusSummary, options: Options): string[] {
  const out = [
    heading(corpusTitles[name], options.markdown),
    `${(summary.bytes / 1e9).toFixed(2)} GB in ${summary.files} files (scale ${options.scale}); ` +
      `the change touches ${summary.changedFiles} files (${options.percent}%); ${options.runs === 1 ? '1 run' : `${options.runs} runs`} of every tool and phase.`,
  ];
  if (options.sweep) {
    out.push(
      heading('Chunker sweep (cumulus)', options.markdown, 4),
      renderSweep(run.results, options.markdown),
    );
    return out;
  }
  for (const phase of phaseNames) {
    if (!run.results.some((result) => result.phase === phase)) continue;
    out.push(
      heading(`${corpusTitles[name]}: ${phaseTitles[phase].toLowerCase()}`, options.markdown, 4),
      renderPhase(phase, run.results, options.markdown),
      '',
      renderLoads(phase, run.loads),
    );
  }
  const server = renderServerVsLocal(run.results, options.markdown);
  if (server) {
    out.push(
      heading(`${corpusTitles[name]}: through the server vs local (Cumulus, loopback)`, options.markdown, 4),
      server,
      '',
      "Speed vs local = local median wall time ÷ through-the-server median wall time. Server CPU and peak RSS are the `cumulus server` process's during each command (client CPU is the `cumulus` command's).",
    );
  }
  return out;
}

interface CorpusSummary {
  scale: number;
  files: number;
  bytes: number;
  changedFiles: number;
  changePercent: number;
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
  } else if (options.browserRestore) {
    const result = await runBrowserRestore({ runs: options.runs, bytes: options.restoreBytes });
    ok = result.verified;
    report.browserRestore = result;
    out.push(
      heading('In-browser restore (web console, headless Chromium)', options.markdown),
      renderBrowserRestore(result, options.markdown),
    );
  } else if (options.scaleOut) {
    const result = await runScaleOut(options);
    ok = result.configurations.every((c) => c.runs.every((r) => r.errors === 0));
    report.scaleOut = result;
    out.push(
      heading('Scale-out: devices backing up at once through HAProxy', options.markdown),
      renderScaleOut(result, options.markdown),
    );
  } else {
    if (options.phases.includes('core') && !options.sweep) {
      if (!options.json)
        process.stdout.write(`${heading('Core micro-benchmarks (MB/s per core)', options.markdown)}\n`);
      report.core = await runCore(options);
    }
    const phases: PhaseName[] = options.sweep
      ? ['backup', 'changed']
      : options.phases.filter((phase): phase is PhaseName => phase !== 'core');
    if (phases.length > 0) {
      const estimate = estimateSeconds(options, phases);
      console.error(
        `bench: ${options.corpora.join(' and ')} corpus at scale ${options.scale}, ${options.runs} run(s) of each tool and phase; ` +
          `estimate about ${Math.ceil(estimate / 60)} min on an idle 2-core machine (more under load)`,
      );
      const corpora: Record<string, unknown> = {};
      const allTools: Tool[] = [];
      const failed: string[] = [];
      for (const name of options.corpora) {
        const tools = toolsFor(name, options);
        allTools.push(...tools.filter((tool) => !allTools.some((seen) => seen.name === tool.name)));
        const corpus = ensureCorpus(name, options.scale);
        const run = await runPhases(tools, corpus, {
          phases,
          percent: options.percent,
          runs: options.runs,
          keepRepos: options.keepRepos,
        });
        ok &&= run.results.every((result) => !result.error && (result.verified ?? 'ok') === 'ok');
        const summary: CorpusSummary = {
          scale: options.scale,
          files: corpus.plan.files.length,
          bytes: planBytes(corpus.plan),
          changedFiles: run.mutation ? mutationSize(run.mutation) : 0,
          changePercent: options.percent,
        };
        corpora[name] = { ...summary, results: run.results, loads: run.loads };
        out.push(...renderCorpus(name, run, summary, options));
        failed.push(...failures(run.results).map((failure) => `${corpusTitles[name]}, ${failure}`));
      }
      const described = describeTools(allTools);
      report.tools = described;
      report.corpora = corpora;
      const end = loadavg().map((load) => load.toFixed(2));
      out.push(
        '',
        `Machine: ${host.cpu}, ${host.cores} cores, ${host.memoryGB} GB RAM, Node ${host.node}; load average at start ${host.loadAverage.join(' ')}, at end ${end.join(' ')}.`,
        'MB = 10^6 bytes. MB/s = corpus bytes ÷ median wall time. Ratios are of medians. Repo size = sum of file sizes in the repository (caches not counted). Peak RSS from GNU time (%M); CPU = user + system.',
        ...described.map(
          (tool) =>
            `- ${tool.name}: ${tool.missing ? `not available (${tool.missing})` : `${tool.version}; ${tool.settings}`}`,
        ),
      );
      if (failed.length > 0) out.push('', 'Failures:', ...failed.map((failure) => `- ${failure}`));
    }
    if (options.server) {
      const devices = await runDevices(options.devices);
      report.devices = devices;
      ok &&= devices.errors === 0;
      out.push(
        heading(`${options.devices} devices of one account at once (Cumulus)`, options.markdown),
        renderDevices(devices, options.markdown),
        '',
        `Each device backs up 2 MiB, changes 1 MiB and backs up again; the second round is measured. Client and server share this process; the test server's rate limits are relaxed. ${devices.seconds.toFixed(0)} s.`,
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
