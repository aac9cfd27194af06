/**
 * webhookRequest shapes a notice as each preset's service expects it: the generic JSON
 * (the notice's fields and words), ntfy's JSON publish (to the server's root, the topic
 * in the body), Gotify's message, and the `text` of Slack-compatible incoming hooks
 * (Slack, Mattermost, Rocket.Chat, Discord's /slack endpoint).
 */
import type { WebhookPreset } from '../../api/notifications.ts';
import { fieldsOf, type Notice, wordsOf } from './notice.ts';

/** URGENT notices are those a person should act on; the others only inform. */
function urgent(notice: Notice): boolean {
  return notice.kind === 'silence' || notice.kind === 'expiry';
}

export function webhookRequest(preset: WebhookPreset, url: URL, notice: Notice): { url: URL; body: unknown } {
  const { title, message } = wordsOf(notice);
  switch (preset) {
    case 'json':
      return { url, body: { ...fieldsOf(notice), title, message } };
    case 'ntfy': {
      // https://ntfy.example/mytopic → POST https://ntfy.example/ {"topic":"mytopic",…}
      const segments = url.pathname.split('/');
      const topic = decodeURIComponent(segments.pop() ?? '');
      const root = new URL(url);
      root.pathname = `${segments.join('/')}/`;
      return {
        url: root,
        body: { topic, title, message, priority: urgent(notice) ? 4 : 3, tags: ['cumulus', notice.kind] },
      };
    }
    case 'gotify':
      return { url, body: { title, message, priority: urgent(notice) ? 8 : 4 } };
    case 'slack':
      return { url, body: { text: `*${title}*\n${message}` } };
  }
}

/** webhookUrlProblem says why a URL cannot be a hook of this preset, or null when it can. */
export function webhookUrlProblem(preset: WebhookPreset, url: URL): string | null {
  if (url.username || url.password) return 'put no user name or password in the URL';
  if (preset === 'ntfy' && !/\/[^/]+$/.test(url.pathname))
    return 'an ntfy URL ends with the topic, such as https://ntfy.sh/my-backups';
  if (preset === 'gotify' && !(url.pathname.endsWith('/message') && url.searchParams.has('token')))
    return "a Gotify URL is the server's /message address with the application's token, such as https://gotify.example/message?token=…";
  return null;
}
