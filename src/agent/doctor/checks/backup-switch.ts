/** checkBackupSwitch: backup is switched on for this device, and the server has not removed the device. */

import { formatWhen } from '../../format.ts';
import type { DoctorFacts } from '../facts.ts';
import { failed } from '../facts.ts';
import type { Verdict } from '../types.ts';

export async function checkBackupSwitch(facts: DoctorFacts): Promise<Verdict> {
  const { backupSwitch, clock } = facts.deps;
  const state = await backupSwitch.read();
  const session = await facts.session();
  if (!failed(session) && session.deviceRemoved) {
    return {
      status: 'fail',
      evidence: ['the server says this device was removed from the account'],
      fix: ['Sign this device in again: cumulus login URL', 'Then switch backup on: cumulus enable'],
    };
  }
  if (!state.enabled) {
    return {
      status: 'fail',
      evidence: [
        state.damaged
          ? `the backup switch cannot be read (${state.damaged}), so it counts as off`
          : state.changedAt
            ? `backup was switched off at ${formatWhen(state.changedAt)}`
            : 'backup has never been switched on',
      ],
      fix: ['Switch backup on: cumulus enable'],
      autoFix: {
        description: 'switch backup on for this device',
        changesSettings: true,
        apply: async () => {
          await backupSwitch.write(true, clock.now());
          return ['backup switched on'];
        },
      },
    };
  }
  return {
    status: 'ok',
    evidence: [state.changedAt ? `switched on since ${formatWhen(state.changedAt)}` : 'switched on'],
  };
}
