/**
 * desktopNotifier raises a desktop notification with the tool the platform has:
 * `notify-send` on Linux (libnotify), `osascript` on macOS. It looks the tool up on the
 * PATH once and does nothing where there is none. The text goes to the tool as its own
 * arguments, never through a shell or into a script's source, so nothing in it (a quote,
 * `$(…)`, a leading dash) is read as code or an option.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { DesktopNotifier } from '../ports.ts';

const TIMEOUT_MS = 10_000;
/** Notification servers cut long bodies anyway; this keeps one readable. */
const MAX_TEXT = 400;

/**
 * notifyArgv is the command that shows `title` and `body` on `platform`, given where its tool
 * is; undefined where there is none. On macOS the script reads the text from its arguments.
 */
export function notifyArgv(
  platform: NodeJS.Platform,
  tool: string,
  title: string,
  body: string,
): [string, string[]] | undefined {
  const [t, b] = [clean(title), clean(body)];
  if (platform === 'linux') return [tool, ['--app-name=Cumulus', '--', t, b]];
  if (platform === 'darwin')
    return [
      tool,
      [
        '-e',
        'on run argv',
        '-e',
        'display notification (item 2 of argv) with title (item 1 of argv)',
        '-e',
        'end run',
        t,
        b,
      ],
    ];
  return undefined;
}

/** clean keeps a text to one short line without control characters. */
function clean(text: string): string {
  const line = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return line.length > MAX_TEXT ? `${line.slice(0, MAX_TEXT - 1)}…` : line;
}

const TOOLS: Partial<Record<NodeJS.Platform, string>> = { linux: 'notify-send', darwin: 'osascript' };

/** findTool returns the path of an executable `name` on `path`, or undefined. */
function findTool(name: string, path: string | undefined): string | undefined {
  for (const dir of (path ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  return undefined;
}

export function desktopNotifier(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
): DesktopNotifier {
  const name = TOOLS[platform];
  const tool = name === undefined ? undefined : findTool(name, env.PATH);
  return {
    notify: (title, body) => {
      const command = tool === undefined ? undefined : notifyArgv(platform, tool, title, body);
      if (command === undefined) return Promise.resolve(false);
      return new Promise((resolve) => {
        // No desktop session, or a tool that fails: the notice is lost, the agent goes on.
        execFile(command[0], command[1], { env, timeout: TIMEOUT_MS, shell: false }, (error) =>
          resolve(error === null),
        );
      });
    },
  };
}
