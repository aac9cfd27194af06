/** checkPower: on AC, or the battery level against the policy. */
import { powerBlocker } from '../../conditions.ts';
import type { DoctorFacts } from '../facts.ts';
import { failed } from '../facts.ts';
import type { Verdict } from '../types.ts';

export async function checkPower(facts: DoctorFacts): Promise<Verdict> {
  const [reading, inspection] = await Promise.all([facts.reading(), facts.settings()]);
  if (failed(reading))
    return { status: 'fail', evidence: [`cannot read the power state: ${reading.error.message}`] };
  if (failed(inspection)) throw inspection.error;
  const { power } = reading;
  const { settings } = inspection;
  if (!power.hasBattery) return { status: 'ok', evidence: ['no battery: on mains power'] };
  const level = power.batteryPercent === undefined ? 'level unknown' : `${Math.round(power.batteryPercent)}%`;
  if (power.ac) return { status: 'ok', evidence: [`on AC power (battery ${level})`] };
  const blocker = powerBlocker(settings, power);
  if (!blocker) {
    const why = settings.power.requireAc
      ? `backups allowed above ${settings.power.allowBatteryAbovePercent}%`
      : 'AC is not required';
    return { status: 'ok', evidence: [`on battery (${level}); ${why}`] };
  }
  return {
    status: 'fail',
    evidence: [`${blocker.message}: automatic backups wait for AC power`],
    fix: [
      'Plug the device into power; the backup starts by itself.',
      'Or, to allow backups on a charged battery: cumulus settings set power.allowBatteryAbovePercent 50',
    ],
  };
}
