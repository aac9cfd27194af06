/**
 * A Notice is one thing the server tells an account about one of its devices. It carries
 * the device's ID and name (the owner's own label), counts of days, dates and the
 * device's reason as codes and numbers: nothing that could name a file or a folder. Its
 * words are made here, from those fields alone.
 */
import type { Reason } from '../../api/devices.ts';
import { describeReason } from '../../api/reason-words.ts';

export interface NoticeDevice {
  id: string;
  /** The name the owner gave the device (a Label: one printable line of at most 100 characters). */
  name: string;
}

export type Notice =
  | { kind: 'silence'; device: NoticeDevice; days: number; reason: Reason; reminder: boolean }
  | { kind: 'recovery'; device: NoticeDevice; days: number }
  | { kind: 'expiry'; device: NoticeDevice; days: number; deletesAt: number }
  | { kind: 'expired'; device: NoticeDevice; days: number }
  | { kind: 'test' };

/** Words are the title and body of a notice, for a person. */
export interface Words {
  title: string;
  message: string;
}

function dayCount(days: number): string {
  return days === 1 ? '1 day' : `${days} days`;
}

function dateOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

const KEEP =
  'To keep them, back the device up again, or pin it (`cumulus devices pin NAME`) or one of its backups (`cumulus snapshots pin ID`).';

export function wordsOf(notice: Notice): Words {
  switch (notice.kind) {
    case 'silence': {
      const name = notice.device.name;
      const why = describeReason(notice.reason);
      return {
        title: `${name} has not backed up for ${dayCount(notice.days)}`,
        message:
          `${notice.reminder ? 'Still: ' : ''}${name} has not backed up for ${dayCount(notice.days)}` +
          `${why ? `: ${why}` : ''}.\nOn that device, \`cumulus doctor\` names the cause and the fix.` +
          `\nReason codes: ${notice.reason.codes.join(', ') || 'none'}.`,
      };
    }
    case 'recovery': {
      const name = notice.device.name;
      return {
        title: `${name} is backing up again`,
        message: `${name} backed up again after ${dayCount(notice.days)} without a backup.`,
      };
    }
    case 'expiry': {
      const name = notice.device.name;
      return {
        title: `The backups of ${name} will be deleted on ${dateOf(notice.deletesAt)}`,
        message:
          `${name} has not backed up for ${dayCount(notice.days)}. Its backups will be deleted on ` +
          `${dateOf(notice.deletesAt)}, as this account's expiry setting says.\n${KEEP}`,
      };
    }
    case 'expired': {
      const name = notice.device.name;
      return {
        title: `The backups of ${name} were deleted`,
        message: `${name} had not backed up for ${dayCount(notice.days)}; its backups were deleted, as this account's expiry setting says.`,
      };
    }
    case 'test':
      return {
        title: 'Cumulus test notice',
        message: 'This is a test: notices about your devices will arrive here.',
      };
  }
}

/** fieldsOf is the notice as data, for the generic JSON webhook. */
export function fieldsOf(notice: Notice): Record<string, unknown> {
  const { kind, ...rest } = notice;
  const fields: Record<string, unknown> = { event: kind, ...rest };
  if ('deletesAt' in notice) fields.deletesAt = new Date(notice.deletesAt).toISOString();
  if ('device' in notice) fields.device = { id: notice.device.id, name: notice.device.name };
  return fields;
}
