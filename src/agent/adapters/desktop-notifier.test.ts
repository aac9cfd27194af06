import assert from 'node:assert/strict';
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { desktopNotifier, notifyArgv } from './desktop-notifier.ts';

describe('desktop notifier', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cumulus-notify-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('Linux: notify-send gets the title and body as its own arguments, after --', () => {
    assert.deepEqual(
      notifyArgv('linux', '/usr/bin/notify-send', 'Cumulus: backups have stopped', '-x body'),
      ['/usr/bin/notify-send', ['--app-name=Cumulus', '--', 'Cumulus: backups have stopped', '-x body']],
    );
  });

  it('macOS: the script reads the text from its arguments, never from its source', () => {
    const [tool, args] = notifyArgv('darwin', '/usr/bin/osascript', 'Cumulus', 'say "hi" & quit')!;
    assert.equal(tool, '/usr/bin/osascript');
    assert.deepEqual(args.slice(-2), ['Cumulus', 'say "hi" & quit']);
    const script = args.filter((_, i) => args[i - 1] === '-e').join('\n');
    assert.doesNotMatch(script, /say/);
    assert.match(script, /display notification \(item 2 of argv\) with title \(item 1 of argv\)/);
  });

  it('runs the real tool with no shell: quotes, $(…), backticks and newlines in the text stay text', async () => {
    const record = join(dir, 'argv');
    const marker = join(dir, 'injected');
    const tool = join(dir, 'notify-send');
    await writeFile(tool, `#!/bin/sh\nfor a in "$@"; do printf '%s\\0' "$a"; done > '${record}'\n`, {
      mode: 0o755,
    });
    const body = `"; touch ${marker}; echo " $(touch ${marker}) \`touch ${marker}\`\nsecond line`;
    const shown = await desktopNotifier({ PATH: dir }, 'linux').notify('Cumulus: backups have stopped', body);
    assert.equal(shown, true);
    const argv = (await readFile(record, 'utf8')).split('\0').slice(0, -1);
    assert.deepEqual(argv, [
      '--app-name=Cumulus',
      '--',
      'Cumulus: backups have stopped',
      `"; touch ${marker}; echo " $(touch ${marker}) \`touch ${marker}\` second line`,
    ]);
    await assert.rejects(access(marker), 'nothing in the text ran');
  });

  it('does nothing, and says so, where there is no tool or it fails', async () => {
    const empty = await mkdtemp(join(dir, 'empty-'));
    assert.equal(await desktopNotifier({ PATH: empty }, 'linux').notify('t', 'b'), false);
    assert.equal(await desktopNotifier({ PATH: dir }, 'win32').notify('t', 'b'), false);
    const failing = await mkdtemp(join(dir, 'failing-'));
    await writeFile(join(failing, 'notify-send'), '#!/bin/sh\nexit 1\n', { mode: 0o755 });
    assert.equal(await desktopNotifier({ PATH: failing }, 'linux').notify('t', 'b'), false);
  });
});
