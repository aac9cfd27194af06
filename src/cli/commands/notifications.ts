/**
 * `cumulus notifications` shows and changes how the server tells this account about its
 * devices: when a silent device is noticed and reminded, when abandoned backups expire,
 * e-mail on or off, webhooks (with a preset per service), and a test-send through all.
 */
import type { Command } from 'commander';
import * as api from '../../api/notifications.ts';
import { CumulusError } from '../../core/errors.ts';
import { printable } from '../format.ts';
import { printJson } from '../repository-options.ts';
import { signedIn } from '../signed-in.ts';

function describeStatus(status: api.ChannelStatus): string {
  if (status.lastAttemptAt === null) return 'nothing sent yet';
  return status.ok
    ? `last sent ${status.lastAttemptAt}`
    : `last attempt ${status.lastAttemptAt} FAILED (${status.error})`;
}

function render(n: api.NotificationSettings): string {
  const { silenceDays, reminderDays, expiryDays } = n.settings;
  const lines = [
    `Silent device: told after ${silenceDays} day(s) without a backup; ${reminderDays === 0 ? 'no reminders' : `reminded every ${reminderDays} day(s)`}`,
    `Expiry:        ${expiryDays === 0 ? 'off (backups of silent devices are kept)' : `backups of a device deleted after ${expiryDays} days without a backup, told 30 and 7 days before`}`,
    `E-mail:        ${n.email.available ? `${n.email.enabled ? 'on' : 'off'}, to ${n.email.address}; ${describeStatus(n.email.status)}` : 'not available: the server has no mail relay configured'}`,
  ];
  if (n.webhooks.length === 0)
    lines.push('Webhooks:      none (add one: cumulus notifications add-webhook URL --preset ntfy)');
  else lines.push('Webhooks:');
  for (const hook of n.webhooks)
    lines.push(
      `  ${hook.id}  ${hook.preset.padEnd(6)}  ${printable(hook.target)}  ${describeStatus(hook.status)}`,
    );
  return `${lines.join('\n')}\n`;
}

/** dayCount reads a count of days for an option; `off` is 0 where the setting allows it. */
function dayCount(option: string, allowOff: boolean) {
  return (text: string): number => {
    if (allowOff && text === 'off') return 0;
    if (!/^\d{1,4}$/.test(text))
      throw new CumulusError(
        'usage',
        `${option} takes a number of days${allowOff ? ' or "off"' : ''}, not "${text}"`,
      );
    return Number(text);
  };
}

export function register(program: Command): void {
  const command = program
    .command('notifications')
    .description('how the server tells this account about silent devices and expiring backups');
  command
    .command('show', { isDefault: true })
    .description('the settings, the e-mail channel and the webhooks, each with its last delivery')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const { client } = await signedIn();
      const settings = await client.call(api.getNotifications, {});
      if (options.json) return printJson(settings);
      process.stdout.write(render(settings));
    });
  command
    .command('set')
    .description('change when a silent device is noticed and reminded, and when abandoned backups expire')
    .option(
      '--silence-days <n>',
      'days without a backup before the account is told (1-90)',
      dayCount('--silence-days', false),
    )
    .option(
      '--reminder-days <n>',
      'days between reminders while it stays silent (0 or off: none)',
      dayCount('--reminder-days', true),
    )
    .option(
      '--expiry-days <n>',
      `days without a backup after which a device's backups are deleted (${api.MIN_EXPIRY_DAYS}-3650, or off)`,
      dayCount('--expiry-days', true),
    )
    .action(async (options: { silenceDays?: number; reminderDays?: number; expiryDays?: number }) => {
      if (Object.values(options).every((value) => value === undefined))
        throw new CumulusError('usage', 'nothing to change', {
          hint: 'give --silence-days, --reminder-days or --expiry-days',
        });
      const { client } = await signedIn();
      process.stdout.write(render(await client.call(api.updateNotifications, { body: options })));
    });
  command
    .command('email <on|off>')
    .description("send notices to the account's e-mail address, or not")
    .action(async (value: string) => {
      if (value !== 'on' && value !== 'off') throw new CumulusError('usage', `say on or off, not "${value}"`);
      const { client } = await signedIn();
      process.stdout.write(
        render(await client.call(api.updateNotifications, { body: { email: value === 'on' } })),
      );
    });
  command
    .command('add-webhook <url>')
    .description('POST every notice to a URL, shaped for the service the preset names')
    .option('--preset <preset>', `${api.WEBHOOK_PRESETS.join(', ')} (json: the notice's fields)`, 'json')
    .action(async (url: string, options: { preset: string }) => {
      if (!(api.WEBHOOK_PRESETS as readonly string[]).includes(options.preset))
        throw new CumulusError('usage', `there is no preset "${options.preset}"`, {
          hint: `use one of ${api.WEBHOOK_PRESETS.join(', ')}`,
        });
      const { client } = await signedIn();
      const hook = await client.call(api.addWebhook, {
        body: { url, preset: options.preset as api.WebhookPreset },
      });
      process.stdout.write(
        `added webhook ${hook.id} (${hook.preset}, ${printable(hook.target)}); try it: cumulus notifications test\n`,
      );
    });
  command
    .command('remove-webhook <id>')
    .description('stop sending notices to a webhook')
    .action(async (id: string) => {
      const { client } = await signedIn();
      await client.call(api.removeWebhook, { params: { webhookId: id } });
      process.stdout.write(`removed webhook ${id}\n`);
    });
  command
    .command('test')
    .description('send a test notice through every channel; exits 3 when one failed')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const { client } = await signedIn();
      const { results } = await client.call(api.testNotifications, {});
      if (options.json) printJson({ results });
      else if (results.length === 0)
        process.stdout.write('no channel to send to: switch e-mail on or add a webhook\n');
      for (const r of options.json ? [] : results)
        process.stdout.write(
          `${r.ok ? 'sent  ' : 'FAILED'}  ${r.channel === 'email' ? 'e-mail' : r.channel}  ${printable(r.target)}${r.ok ? '' : `  (${r.error})`}\n`,
        );
      if (results.length === 0 || results.some((r) => !r.ok))
        throw new CumulusError(
          'partial',
          results.length === 0 ? 'no channel to send to' : 'a channel failed',
          {
            hint: 'cumulus notifications shows each channel; fix or remove the failing one',
          },
        );
    });
}
