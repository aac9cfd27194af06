import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Notice } from './notice.ts';
import { webhookRequest, webhookUrlProblem } from './presets.ts';

const SILENT: Notice = {
  kind: 'silence',
  device: { id: 'a'.repeat(32), name: 'laptop' },
  days: 4,
  reason: { codes: ['storage'], values: { usedBytes: 5e9, quotaBytes: 5e9 } },
  reminder: false,
};

describe('webhook presets', () => {
  it('shape one notice as each service expects', () => {
    const ntfy = webhookRequest('ntfy', new URL('https://ntfy.example/sub/my-backups'), SILENT);
    assert.equal(ntfy.url.href, 'https://ntfy.example/sub/');
    assert.deepEqual(ntfy.body, {
      topic: 'my-backups',
      title: 'laptop has not backed up for 4 days',
      message:
        'laptop has not backed up for 4 days: storage full (5.0 GB of 5.0 GB used).\nOn that device, `cumulus doctor` names the cause and the fix.\nReason codes: storage.',
      priority: 4,
      tags: ['cumulus', 'silence'],
    });
    const gotify = webhookRequest('gotify', new URL('https://g.example/message?token=t'), SILENT);
    assert.equal(gotify.url.href, 'https://g.example/message?token=t');
    assert.deepEqual(Object.keys(gotify.body as object), ['title', 'message', 'priority']);
    const slack = webhookRequest('slack', new URL('https://hooks.example/services/x'), SILENT);
    assert.match((slack.body as { text: string }).text, /^\*laptop has not backed up for 4 days\*\n/);
    const json = webhookRequest('json', new URL('https://example.com/hook'), SILENT).body as Record<
      string,
      unknown
    >;
    assert.equal(json.event, 'silence');
    assert.deepEqual(json.reason, SILENT.kind === 'silence' && SILENT.reason);
    assert.deepEqual(json.device, { id: 'a'.repeat(32), name: 'laptop' });
  });

  it('say what is wrong with a URL that cannot be a hook of its preset', () => {
    assert.match(webhookUrlProblem('ntfy', new URL('https://ntfy.sh/'))!, /ends with the topic/);
    assert.match(webhookUrlProblem('gotify', new URL('https://g.example/message'))!, /token/);
    assert.match(webhookUrlProblem('json', new URL('https://u:p@example.com/'))!, /password/);
    assert.equal(webhookUrlProblem('gotify', new URL('https://g.example/message?token=x')), null);
  });
});
