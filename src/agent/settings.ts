/**
 * Settings are the owner's policy for automatic backups: how often, and which conditions
 * must hold (each one can be relaxed), plus the sources and their excludes. They live in
 * `settings.json` in the config folder. `reset` returns every policy to its default and
 * drops the sources' excludes, but keeps which folders are backed up; sign-in, keys and
 * backups live elsewhere (src/client/device-state.ts, the repository) and are never touched.
 */
import { isAbsolute } from 'node:path';
import { CumulusError } from '../core/errors.ts';
import { readJsonFile, writeJsonFile } from './json-file.ts';
import type { BackupSource } from './ports.ts';

export interface Settings {
  version: 1;
  schedule: { intervalHours: number };
  power: {
    requireAc: boolean;
    /** When AC is required, a battery above this level still allows a backup; null = never on battery. */
    allowBatteryAbovePercent: number | null;
  };
  network: {
    requireUnmetered: boolean;
    /** What a link whose metered state no tool can tell counts as (see docs/agent.md). */
    unknownMeteredCountsAs: 'unmetered' | 'metered';
  };
  session: { requireLockedOrIdle: boolean; idleMinutes: number };
  checks: { quota: boolean; serviceStatus: boolean };
  /** A desktop notification when no backup has succeeded for `afterDays` days (the server's silence default); null = never. */
  notify: { afterDays: number | null };
  sources: BackupSource[];
}

export function defaultSettings(): Settings {
  return {
    version: 1,
    schedule: { intervalHours: 24 },
    power: { requireAc: true, allowBatteryAbovePercent: null },
    network: { requireUnmetered: true, unknownMeteredCountsAs: 'unmetered' },
    session: { requireLockedOrIdle: true, idleMinutes: 10 },
    checks: { quota: true, serviceStatus: true },
    notify: { afterDays: 3 },
    sources: [],
  };
}

type Section = Exclude<keyof Settings, 'version' | 'sources'>;
type Value = number | boolean | string | null;

/** SettingDefinition is one key `settings set` accepts: how to parse it from text and what is valid. */
interface SettingDefinition {
  key: string;
  description: string;
  parse(text: string): Value;
  /** problem returns why a value is invalid, or undefined. */
  problem(value: unknown): string | undefined;
}

const booleanSetting = (key: string, description: string): SettingDefinition => ({
  key,
  description,
  parse: (text) =>
    ['true', 'on', 'yes'].includes(text) ? true : ['false', 'off', 'no'].includes(text) ? false : text,
  problem: (value) => (typeof value === 'boolean' ? undefined : 'must be true or false'),
});

const numberSetting = (
  key: string,
  description: string,
  min: number,
  max: number,
  options: { nullable?: boolean } = {},
): SettingDefinition => ({
  key,
  description,
  parse: (text) =>
    options.nullable && ['off', 'none', 'null'].includes(text)
      ? null
      : text.trim() === ''
        ? text
        : Number(text),
  problem: (value) =>
    (value === null && options.nullable) || (typeof value === 'number' && value >= min && value <= max)
      ? undefined
      : `must be a number from ${min} to ${max}${options.nullable ? ', or off' : ''}`,
});

/** SETTINGS lists every key of `settings set`, in the order `settings show` prints them. */
export const SETTINGS: SettingDefinition[] = [
  numberSetting('schedule.intervalHours', 'hours between automatic backups', 1, 24 * 30),
  booleanSetting('power.requireAc', 'back up only on AC power'),
  numberSetting(
    'power.allowBatteryAbovePercent',
    'with requireAc, still back up on battery above this level',
    0,
    100,
    {
      nullable: true,
    },
  ),
  booleanSetting('network.requireUnmetered', 'back up only on an unmetered network (Wi-Fi or Ethernet)'),
  {
    key: 'network.unknownMeteredCountsAs',
    description: 'what a link of unknown metered state counts as',
    parse: (text) => text,
    problem: (value) =>
      value === 'unmetered' || value === 'metered' ? undefined : 'must be unmetered or metered',
  },
  booleanSetting('session.requireLockedOrIdle', 'back up only while the screen is locked or the user idle'),
  numberSetting('session.idleMinutes', 'minutes without input that count as idle', 0, 24 * 60),
  booleanSetting('checks.quota', 'wait while the storage plan is full'),
  booleanSetting('checks.serviceStatus', 'wait while the service status is down'),
  numberSetting(
    'notify.afterDays',
    'raise a desktop notification when no backup has succeeded for this many days',
    1,
    365,
    { nullable: true },
  ),
];

function definition(key: string): SettingDefinition {
  const found = SETTINGS.find((d) => d.key === key);
  if (!found) {
    throw new CumulusError('invalid_input', `unknown setting ${key}`, {
      hint: `settings are: ${SETTINGS.map((d) => d.key).join(', ')}`,
    });
  }
  return found;
}

function getPath(settings: Settings, key: string): unknown {
  const [section, name] = key.split('.') as [Section, string];
  return (settings[section] as Record<string, unknown>)[name];
}

function setPath(settings: Settings, key: string, value: unknown): void {
  const [section, name] = key.split('.') as [Section, string];
  (settings[section] as Record<string, unknown>)[name] = value;
}

/** SettingsInspection is the settings file as found: the usable settings and every problem with it. */
export interface SettingsInspection {
  settings: Settings;
  /** Problems in plain words; the settings hold defaults where a value was bad. */
  problems: string[];
  exists: boolean;
}

/** validateSettings reads raw JSON into Settings, collecting a problem for each bad or unknown field. */
export function validateSettings(raw: unknown): { settings: Settings; problems: string[] } {
  const settings = defaultSettings();
  const problems: string[] = [];
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { settings, problems: ['the settings file is not a JSON object'] };
  }
  const data = raw as Record<string, unknown>;
  const sections = new Set(SETTINGS.map((d) => d.key.split('.')[0]));
  for (const key of Object.keys(data)) {
    if (key !== 'version' && key !== 'sources' && !sections.has(key)) problems.push(`unknown setting ${key}`);
  }
  for (const section of sections) {
    const value = data[section];
    if (value === undefined) continue;
    if (typeof value !== 'object' || value === null) {
      problems.push(`${section} must be an object`);
      continue;
    }
    for (const [name, fieldValue] of Object.entries(value)) {
      const key = `${section}.${name}`;
      const def = SETTINGS.find((d) => d.key === key);
      if (!def) problems.push(`unknown setting ${key}`);
      else if (def.problem(fieldValue))
        problems.push(`${key} ${def.problem(fieldValue)} (found ${JSON.stringify(fieldValue)})`);
      else setPath(settings, key, fieldValue);
    }
  }
  if (data.sources !== undefined) {
    if (!Array.isArray(data.sources)) problems.push('sources must be a list');
    else settings.sources = data.sources.filter((s, i) => sourceProblem(s, i, problems));
  }
  return { settings, problems };
}

function sourceProblem(source: unknown, index: number, problems: string[]): source is BackupSource {
  const s = source as Partial<BackupSource> | null;
  if (typeof s?.path !== 'string' || !isAbsolute(s.path)) {
    problems.push(`sources[${index}] needs an absolute path`);
    return false;
  }
  if (!Array.isArray(s.excludes) || s.excludes.some((e) => typeof e !== 'string')) {
    problems.push(`sources[${index}] (${s.path}) needs a list of exclude patterns`);
    return false;
  }
  return true;
}

/** SettingsStore reads and writes `settings.json`. */
export class SettingsStore {
  readonly path: string;

  constructor(path: string) {
    this.path = path;
  }

  /** inspect never throws for a bad file: it reports the problems (the doctor and the scheduler show them). */
  async inspect(): Promise<SettingsInspection> {
    let raw: unknown;
    try {
      raw = await readJsonFile(this.path);
    } catch (error) {
      return {
        settings: defaultSettings(),
        problems: [`the settings file is not valid JSON (${(error as Error).message})`],
        exists: true,
      };
    }
    if (raw === undefined) return { settings: defaultSettings(), problems: [], exists: false };
    return { ...validateSettings(raw), exists: true };
  }

  /** load returns valid settings or throws CumulusError 'invalid_input' naming the problems. */
  async load(): Promise<Settings> {
    const { settings, problems } = await this.inspect();
    if (problems.length > 0) {
      throw new CumulusError(
        'invalid_input',
        `the settings in ${this.path} are broken: ${problems.join('; ')}`,
        {
          hint: 'run `cumulus settings reset` (keeps sign-in, keys, backups and the list of sources)',
        },
      );
    }
    return settings;
  }

  async save(settings: Settings): Promise<void> {
    await writeJsonFile(this.path, settings);
  }

  /** set changes one policy setting from its text form, after validating it. */
  async set(key: string, text: string): Promise<Settings> {
    const def = definition(key);
    const value = def.parse(text.trim());
    const problem = def.problem(value);
    if (problem)
      throw new CumulusError('invalid_input', `${key} ${problem} (got ${JSON.stringify(text)})`, {
        hint: def.description,
      });
    const settings = await this.load();
    setPath(settings, key, value);
    await this.save(settings);
    return settings;
  }

  /** reset writes the defaults, keeping the sources' paths (their excludes are dropped) when they are readable. */
  async reset(): Promise<Settings> {
    const { settings: current } = await this.inspect();
    const settings = defaultSettings();
    settings.sources = current.sources.map((s) => ({ path: s.path, excludes: [] }));
    await this.save(settings);
    return settings;
  }
}

/** settingRows lists every policy setting with its value and meaning, for `settings show`. */
export function settingRows(settings: Settings): { key: string; value: Value; description: string }[] {
  return SETTINGS.map((d) => ({
    key: d.key,
    value: getPath(settings, d.key) as Value,
    description: d.description,
  }));
}
