/** runTool runs one of the platform's own tools with a timeout; a missing or failing tool is `undefined`, never an error. */
import { execFile } from 'node:child_process';

export function runTool(command: string, args: string[], timeoutMs = 2000): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: timeoutMs, encoding: 'utf8' }, (error, stdout) => {
      resolve(error ? undefined : stdout);
    });
  });
}

/** parseKeyValues reads `Key=Value` (loginctl) or `KEY:value` (nmcli -t) lines into a map. */
export function parseKeyValues(text: string, separator: '=' | ':'): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of text.split('\n')) {
    const at = line.indexOf(separator);
    if (at > 0) values.set(line.slice(0, at).trim(), line.slice(at + 1).trim());
  }
  return values;
}
