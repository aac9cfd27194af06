/**
 * updateSteps is `cumulus update`: it asks the server for the latest agent version and
 * says exactly what to run to install it; it installs nothing itself. The server may name
 * a version, but it must not choose the code a device runs (that code reads the account
 * key), and the project publishes no signed release an agent could verify on its own: the
 * person installs the release from the project's own source, checking its signature.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { compareVersions, isVersion } from '../api/releases.ts';
import { CumulusError } from '../core/errors.ts';
import type { AgentServer } from './ports.ts';

const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** shellWord quotes a path for a POSIX shell when it needs it. */
function shellWord(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replaceAll("'", "'\\''")}'`;
}

export async function updateSteps(
  server: Pick<AgentServer, 'latestRelease'>,
  current: string,
  root = PACKAGE_ROOT,
): Promise<string[]> {
  const release = await server.latestRelease();
  // The version goes into commands a person will paste: anything but a version is refused.
  if (!isVersion(release.latest)) {
    throw new CumulusError('invalid_input', 'the server names a latest version that is not a version', {
      hint: "ask the server's admin to publish the release again (`cumulus server release publish`)",
    });
  }
  if (compareVersions(current, release.latest) >= 0) return [`already up to date (${current})`];
  const version = release.latest;
  const intro = `the server says ${version} is the latest agent (this one is ${current}). cumulus does not install what a server names; to update, run:`;
  const restart = '  cumulus agent restart';
  if (existsSync(`${root}.git`)) {
    const dir = shellWord(root);
    return [
      intro,
      `  git -C ${dir} fetch --tags`,
      `  git -C ${dir} verify-tag v${version}    # must say "Good signature" from a key of the project you trust`,
      `  git -C ${dir} checkout v${version}`,
      `  npm --prefix ${dir} ci --omit=dev`,
      restart,
    ];
  }
  return [
    intro,
    `  install ${version} the way you installed this copy (${root}), from the project's own releases, after checking its signature;`,
    "  not `npm install cumulus`: that name on the public npm registry is not this project's",
    restart,
  ];
}
