/**
 * runUpdate is `cumulus update`: it asks the server for the latest agent version,
 * installs it the way this agent was installed (npm global package or git checkout), and
 * verifies that the installed command now reports that version.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { compareVersions, isVersion } from '../api/releases.ts';
import { CumulusError } from '../core/errors.ts';
import type { AgentServer } from './ports.ts';
import { runTool } from './sensors/run-tool.ts';

export type CommandRunner = (command: string, args: string[]) => Promise<string | undefined>;

/** Installer installs one version and reports the installed one. */
export interface Installer {
  /** How this agent was installed, in words. */
  method: string;
  /** install returns false when a step failed. */
  install(version: string): Promise<boolean>;
  installedVersion(): Promise<string | undefined>;
}

const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const runLong: CommandRunner = (command, args) => runTool(command, args, 10 * 60_000);

/** detectInstaller tells how this copy was installed: a git checkout, an npm package, or neither. */
export function detectInstaller(root = PACKAGE_ROOT, run: CommandRunner = runLong): Installer | null {
  const bin = `${root}bin/cumulus.js`;
  const installedVersion = async () => (await run(process.execPath, [bin, '--version']))?.trim();
  if (existsSync(`${root}.git`)) {
    return {
      method: `a git checkout in ${root}`,
      installedVersion,
      install: async (version) =>
        (await run('git', ['-C', root, 'fetch', '--tags'])) !== undefined &&
        (await run('git', ['-C', root, 'checkout', `v${version}`])) !== undefined &&
        (await run('npm', ['--prefix', root, 'ci', '--omit=dev'])) !== undefined,
    };
  }
  if (root.includes('/node_modules/')) {
    return {
      method: 'the npm package',
      installedVersion,
      install: async (version) =>
        (await run('npm', ['install', '--global', `cumulus@${version}`])) !== undefined,
    };
  }
  return null;
}

export async function runUpdate(
  server: Pick<AgentServer, 'latestRelease'>,
  current: string,
  installer: Installer | null = detectInstaller(),
): Promise<string[]> {
  const release = await server.latestRelease();
  if (compareVersions(current, release.latest) >= 0) return [`already up to date (${current})`];
  if (!installer) {
    throw new CumulusError(
      'update_required',
      `this agent (${current}) cannot update itself: it was not installed with npm or git`,
      {
        hint: `install version ${release.latest} the way you installed this one`,
      },
    );
  }
  if (!(await installer.install(release.latest))) {
    throw new CumulusError(
      'update_required',
      `installing ${release.latest} through ${installer.method} failed`,
      {
        hint: 'nothing changed if the install stopped early; check the network and run `cumulus update` again',
      },
    );
  }
  const installed = await installer.installedVersion();
  if (installed === undefined || !isVersion(installed) || compareVersions(installed, release.latest) !== 0) {
    throw new CumulusError(
      'update_required',
      `after the update the agent reports ${installed ?? 'no version'}, not ${release.latest}`,
      {
        hint: 'run `cumulus update` again; if it persists, reinstall the agent',
      },
    );
  }
  return [
    `updated from ${current} to ${release.latest} (${installer.method}); verified`,
    'restart the agent to use it: cumulus agent restart',
  ];
}
