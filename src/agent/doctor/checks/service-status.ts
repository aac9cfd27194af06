/** checkServiceStatus: the server's `/api/status` components, incidents and maintenance. */
import type { DoctorFacts } from '../facts.ts';
import { failed } from '../facts.ts';
import type { Verdict } from '../types.ts';
import { serverErrorVerdict } from './server-error.ts';

export async function checkServiceStatus(facts: DoctorFacts): Promise<Verdict> {
  const status = await facts.status();
  if (failed(status)) return serverErrorVerdict(status.error);
  const evidence = [`overall: ${status.overall}`];
  for (const c of status.components) if (c.status !== 'operational') evidence.push(`${c.name}: ${c.status}`);
  for (const i of status.incidents) evidence.push(`incident: ${i.title} (${i.status})`);
  for (const m of status.maintenance) evidence.push(`maintenance: ${m.title}, ${m.startsAt} to ${m.endsAt}`);
  if (status.overall === 'operational') return { status: 'ok', evidence };
  return {
    status: status.overall === 'down' ? 'fail' : 'warn',
    evidence,
    fix: [
      'Nothing to do on this device: the service has a problem of its own.',
      'Backups resume by themselves when it is back; the server admin sees the same status page.',
    ],
  };
}
