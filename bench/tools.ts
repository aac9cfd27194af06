/**
 * The backup tools under test, each run as a child process against its own fresh
 * repository in `.bench/repos/<tool>`, with its own HOME (so caches and config stay in
 * `.bench/home/<tool>` and are cleaned with it), measuring wall time, CPU time and peak
 * RSS (GNU time), and the repository's size on disk.
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { projectRoot, workDir } from './paths.ts';
import { treeStats } from './tree.ts';
import { formatSize } from './units.ts';

const GNU_TIME = '/usr/bin/time';
/** PASSWORD is every tool's repository (or account) password. */
export const PASSWORD = 'bench-password';

/** Measurement is what one command cost. */
export interface Measurement {
  wallSeconds: number;
  /** cpuSeconds is user + system time of the process and the children it waited for. */
  cpuSeconds: number;
  /** peakRssBytes is the largest resident set of the process (GNU time %M). */
  peakRssBytes: number;
  /** server is what the server process spent meanwhile, for a tool that backs up through one. */
  server?: { cpuSeconds: number; peakRssBytes: number };
}

/** Chunker holds FastCDC sizes in bytes, passed to `cumulus init` as CUMULUS_CHUNKER="min,avg,max". */
export interface Chunker {
  min: number;
  avg: number;
  max: number;
}

/** Tool is one backup program bound to its repository, home and log folders. */
export interface Tool {
  readonly name: string;
  /** settings says how the tool is configured, for the notes under the tables. */
  readonly settings: string;
  /** missing returns why the tool cannot run on this machine, or undefined when it can. */
  missing(): string | undefined;
  version(): string;
  /** clean deletes this tool's repository, home (its caches) and log: a fresh start. */
  clean(): Promise<void>;
  /** dropRepository deletes the repository and home (and stops what serves them) but keeps the log. */
  dropRepository(): Promise<void>;
  /** close stops what the tool keeps running between commands (a server), keeping its files. */
  close(): Promise<void>;
  init(): Promise<Measurement>;
  /** backup backs up `source` as a new snapshot named `label`. */
  backup(source: string, label: string): Promise<Measurement>;
  /** restore restores the latest snapshot into the empty folder `target`. */
  restore(target: string): Promise<Measurement>;
  /** repoBytes is the repository's size on disk (sum of file sizes). */
  repoBytes(): number;
  /** cacheBytes is the size of what the tool keeps outside its repository (its cache). */
  cacheBytes(): number;
}

interface Invocation {
  args: string[];
  cwd?: string;
}

interface ToolSpec {
  name: string;
  settings: string;
  /** program and the arguments that come before every command. */
  program: string[];
  env: Record<string, string>;
  missing(): string | undefined;
  versionArgs: string[];
  /** describeVersion adds to what the version command printed (cumulus: the git commit measured). */
  describeVersion?(printed: string): string;
  init(repo: string): Invocation;
  backup(repo: string, source: string, label: string): Invocation;
  restore(repo: string, target: string, label: string): Invocation;
}

/** gnuTimeMissing returns a message when /usr/bin/time (needed for peak RSS) is not installed. */
export function gnuTimeMissing(): string | undefined {
  return existsSync(GNU_TIME)
    ? undefined
    : `${GNU_TIME} is missing: install the Debian package "time" (apt-get install time)`;
}

function tail(path: string, lines = 15): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/**
 * measure runs `argv` under GNU time with its output appended to `logFile`; it resolves
 * with the cost, or rejects with the exit status and the end of the log.
 */
export async function measure(
  argv: string[],
  options: { cwd?: string; env: NodeJS.ProcessEnv; logFile: string },
): Promise<Measurement> {
  const timeFile = `${options.logFile}.time`;
  const log = openSync(options.logFile, 'a');
  writeSync(log, `\n$ ${argv.join(' ')}\n`);
  const started = performance.now();
  try {
    const child = spawn(GNU_TIME, ['-f', '%M %U %S', '-o', timeFile, ...argv], {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', log, log],
    });
    const status = await new Promise<number | string>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code, signal) => resolve(code ?? signal ?? 'unknown'));
    });
    const wallSeconds = (performance.now() - started) / 1000;
    if (status !== 0) {
      throw new Error(
        `${argv.slice(0, 3).join(' ')} … exited with ${status} (log: ${options.logFile})\n${tail(options.logFile)}`,
      );
    }
    const last = readFileSync(timeFile, 'utf8').trim().split('\n').at(-1) ?? '';
    const [rssKiB, user, system] = last.split(' ').map(Number);
    return { wallSeconds, cpuSeconds: user + system, peakRssBytes: rssKiB * 1024 };
  } finally {
    closeSync(log);
  }
}

function commandMissing(program: string, hint: string): string | undefined {
  const result = spawnSync(program, ['--help'], { stdio: 'ignore' });
  return result.error ? `${program} is not installed (${hint})` : undefined;
}

/** safeName turns a tool name into a folder name. */
export function safeName(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '-');
}

/** ToolDirs are one tool's folders: repository (or server data), HOME, log file. */
export interface ToolDirs {
  repo: string;
  home: string;
  logFile: string;
}

/** toolDirs names the folders of the tool `name`; `run` prefixes them (see makeTool). */
export function toolDirs(name: string, run = ''): ToolDirs {
  const dir = safeName(name);
  return {
    repo: `${workDir}/repos/${run}${dir}`,
    home: `${workDir}/home/${run}${dir}`,
    logFile: `${workDir}/logs/${run}${dir}.log`,
  };
}

/** toolEnv is the environment of a tool's commands: its own HOME and XDG folders, so caches and config stay there. */
export function toolEnv(home: string, extra: Record<string, string>): NodeJS.ProcessEnv {
  return {
    ...process.env,
    HOME: home,
    XDG_CACHE_HOME: `${home}/.cache`,
    XDG_CONFIG_HOME: `${home}/.config`,
    XDG_DATA_HOME: `${home}/.local/share`,
    ...extra,
  };
}

class MeasuredTool implements Tool {
  readonly name: string;
  readonly settings: string;
  #spec: ToolSpec;
  #repo: string;
  #home: string;
  #logFile: string;
  #lastLabel = '';
  #missing: { reason: string | undefined } | undefined;

  constructor(spec: ToolSpec, run: string) {
    this.#spec = spec;
    this.name = spec.name;
    this.settings = spec.settings;
    ({ repo: this.#repo, home: this.#home, logFile: this.#logFile } = toolDirs(spec.name, run));
  }

  missing(): string | undefined {
    // Asked several times per run; checking spawns the tool, so the answer is kept.
    this.#missing ??= { reason: this.#spec.missing() };
    return this.#missing.reason;
  }

  version(): string {
    const [program, ...leading] = this.#spec.program;
    const result = spawnSync(program, [...leading, ...this.#spec.versionArgs], {
      encoding: 'utf8',
      env: this.#env(),
    });
    const version = (result.stdout || result.stderr || '').trim().split('\n')[0] ?? '';
    return this.#spec.describeVersion ? this.#spec.describeVersion(version) : version;
  }

  async clean(): Promise<void> {
    await this.dropRepository();
    rmSync(this.#logFile, { force: true });
    rmSync(`${this.#logFile}.time`, { force: true });
  }

  async close(): Promise<void> {}

  async dropRepository(): Promise<void> {
    rmSync(this.#repo, { recursive: true, force: true });
    rmSync(this.#home, { recursive: true, force: true });
  }

  #env(): NodeJS.ProcessEnv {
    return toolEnv(this.#home, this.#spec.env);
  }

  async #run(invocation: Invocation): Promise<Measurement> {
    mkdirSync(this.#home, { recursive: true });
    mkdirSync(`${workDir}/logs`, { recursive: true });
    return measure([...this.#spec.program, ...invocation.args], {
      cwd: invocation.cwd,
      env: this.#env(),
      logFile: this.#logFile,
    });
  }

  init(): Promise<Measurement> {
    mkdirSync(`${workDir}/repos`, { recursive: true });
    return this.#run(this.#spec.init(this.#repo));
  }

  async backup(source: string, label: string): Promise<Measurement> {
    const measurement = await this.#run(this.#spec.backup(this.#repo, source, label));
    this.#lastLabel = label;
    return measurement;
  }

  restore(target: string): Promise<Measurement> {
    mkdirSync(target, { recursive: true });
    return this.#run(this.#spec.restore(this.#repo, target, this.#lastLabel));
  }

  repoBytes(): number {
    return treeStats(this.#repo).bytes;
  }

  cacheBytes(): number {
    return existsSync(this.#home) ? treeStats(this.#home).bytes : 0;
  }
}

const restic: ToolSpec = {
  name: 'restic',
  settings:
    'repository v2, default compression (auto), default cache (in its HOME, not counted in repo size)',
  program: ['restic'],
  env: { RESTIC_PASSWORD: PASSWORD },
  missing: () => commandMissing('restic', 'apt-get install restic'),
  versionArgs: ['version'],
  init: (repo) => ({ args: ['init', '--repository-version', '2', '--repo', repo] }),
  // Backing up "." from inside the source keeps snapshot paths relative, so restore puts the tree at the target's top.
  backup: (repo, source) => ({ args: ['backup', '--repo', repo, '--host', 'bench', '.'], cwd: source }),
  restore: (repo, target) => ({ args: ['restore', '--repo', repo, 'latest', '--target', target] }),
};

const borg: ToolSpec = {
  name: 'borg',
  settings: 'repokey encryption, --compression zstd,3, default files cache',
  program: ['borg'],
  env: { BORG_PASSPHRASE: PASSWORD, BORG_RELOCATED_REPO_ACCESS_IS_OK: 'yes' },
  missing: () => commandMissing('borg', 'apt-get install borgbackup'),
  versionArgs: ['--version'],
  init: (repo) => ({ args: ['init', '--encryption', 'repokey', repo] }),
  backup: (repo, source, label) => ({
    args: ['create', '--compression', 'zstd,3', `${repo}::${label}`, '.'],
    cwd: source,
  }),
  restore: (repo, target, label) => ({ args: ['extract', `${repo}::${label}`], cwd: target }),
};

/** cumulusBin is the CLI a user runs. */
export const cumulusBin = `${projectRoot}/bin/cumulus.js`;

/** cumulusMissing checks that the CLI exists and offers the commands the benchmark needs. */
export function cumulusMissing(commands = ['init', 'backup', 'restore']): string | undefined {
  if (!existsSync(cumulusBin)) return `${cumulusBin} does not exist`;
  const help = spawnSync(process.execPath, [cumulusBin, '--help'], { encoding: 'utf8' });
  const text = `${help.stdout}${help.stderr}`;
  const absent = commands.filter((command) => !new RegExp(`^\\s+${command}\\b`, 'm').test(text));
  return absent.length > 0 ? `the cumulus CLI does not offer ${absent.join(', ')} yet` : undefined;
}

/** describeCumulus adds the git commit measured to what `cumulus --version` printed. */
export function describeCumulus(printed: string): string {
  const commit = spawnSync('git', ['-C', projectRoot, 'describe', '--always', '--dirty'], {
    encoding: 'utf8',
  });
  return commit.status === 0 ? `cumulus ${printed} (git ${commit.stdout.trim()})` : `cumulus ${printed}`;
}

function cumulus(chunker: Chunker | undefined): ToolSpec {
  const sizes = chunker && [chunker.min, chunker.avg, chunker.max];
  return {
    name: sizes ? `cumulus ${sizes.map(formatSize).join('/')}` : 'cumulus',
    settings: sizes ? `CUMULUS_CHUNKER=${sizes.join(',')}` : 'default settings',
    program: [process.execPath, cumulusBin],
    env: { CUMULUS_PASSWORD: PASSWORD, ...(sizes ? { CUMULUS_CHUNKER: sizes.join(',') } : {}) },
    missing: () => cumulusMissing(),
    versionArgs: ['--version'],
    describeVersion: describeCumulus,
    init: (repo) => ({ args: ['init', '--repo', repo] }),
    backup: (repo, source) => ({ args: ['backup', '--repo', repo, source] }),
    restore: (repo, target) => ({ args: ['restore', '--repo', repo, 'latest', '--target', target] }),
  };
}

/** toolNames are the tools `--tools` accepts. */
export const toolNames = ['cumulus', 'restic', 'borg'] as const;

/** ToolName is one of toolNames. */
export type ToolName = (typeof toolNames)[number];

/**
 * makeTool returns the named tool; `run` prefixes its folders so that separate benchmarks
 * (the memory benchmark) do not share repositories, and `chunker` applies to cumulus only.
 */
export function makeTool(name: ToolName, options: { run?: string; chunker?: Chunker } = {}): Tool {
  const spec = name === 'restic' ? restic : name === 'borg' ? borg : cumulus(options.chunker);
  return new MeasuredTool(spec, options.run ? `${options.run}-` : '');
}
