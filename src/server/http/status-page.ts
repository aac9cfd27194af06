/**
 * renderStatusPage draws the status report as a plain HTML page (no script): a light per
 * component, then active incidents, announced maintenance and the history.
 */
import {
  describeRun,
  type Incident,
  type Light,
  type MaintenanceJob,
  type ReplicaStatus,
  type StatusReport,
} from '../../api/status.ts';

const COLOR: Record<Light, string> = { green: '#2e9d4b', amber: '#e0a100', red: '#d33a2c' };
const LABEL: Record<Light, string> = { green: 'Operational', amber: 'Degraded', red: 'Outage' };
const SUMMARY: Record<Light, string> = {
  green: 'All systems operational',
  amber: 'Some systems are degraded',
  red: 'Some systems are down',
};

/** escapeHtml makes text safe inside HTML elements and quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function incidentList(title: string, incidents: Incident[]): string {
  if (incidents.length === 0) return '';
  const items = incidents
    .map((incident) => {
      const when = [incident.startsAt, incident.endsAt ?? incident.resolvedAt].filter(Boolean).join(' → ');
      const resolved = incident.resolvedAt ? ` · resolved ${escapeHtml(incident.resolvedAt)}` : '';
      return `<li><strong>${escapeHtml(incident.title)}</strong> <small>(${incident.kind}, ${incident.severity}; ${escapeHtml(
        incident.components.join(', '),
      )}; ${escapeHtml(when)}${resolved})</small>${incident.message ? `<p>${escapeHtml(incident.message)}</p>` : ''}</li>`;
    })
    .join('\n');
  return `<h2>${title}</h2>\n<ul>\n${items}\n</ul>`;
}

function replicaList(replicas: ReplicaStatus[]): string {
  const items = replicas
    .map(
      (r) =>
        `<li>server ${escapeHtml(r.id)}${r.leader ? ' (runs maintenance)' : ''}: heartbeat ${escapeHtml(r.heartbeatAt)}, up since ${escapeHtml(r.startedAt)}</li>`,
    )
    .join('\n');
  return `<h2>Servers</h2>\n<ul>\n${items}\n</ul>`;
}

function maintenanceTable(jobs: MaintenanceJob[]): string {
  if (jobs.length === 0) return '';
  const rows = jobs
    .map(
      (job) =>
        `<tr data-job="${escapeHtml(job.name)}"><td>${escapeHtml(job.name)}</td>` +
        `<td>${escapeHtml(job.lastRun?.startedAt ?? '')}</td><td>${escapeHtml(describeRun(job))}</td>` +
        `<td>${escapeHtml(job.nextRunAt ?? '')}</td></tr>`,
    )
    .join('\n');
  return `<h2>Scheduled maintenance jobs</h2>
<table>
<tr><th>Job</th><th>Last run</th><th>Outcome</th><th>Next run</th></tr>
${rows}
</table>`;
}

export function renderStatusPage(report: StatusReport): string {
  const rows = report.components
    .map(
      (c) =>
        `<tr><td><span class="dot" style="background:${COLOR[c.status]}"></span>${escapeHtml(c.name)}</td>` +
        `<td class="${c.status}">${LABEL[c.status]}</td><td>${escapeHtml(c.detail)}</td></tr>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="60">
<title>Cumulus status: ${SUMMARY[report.status]}</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 48rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
.banner { padding: 1rem; border-radius: .5rem; color: #fff; font-weight: bold; background: ${COLOR[report.status]}; }
table { width: 100%; border-collapse: collapse; margin-top: 1rem; }
td, th { text-align: left; padding: .5rem; border-bottom: 1px solid #ddd; vertical-align: top; }
.dot { display: inline-block; width: .8rem; height: .8rem; border-radius: 50%; margin-right: .5rem; }
.green { color: ${COLOR.green}; } .amber { color: ${COLOR.amber}; } .red { color: ${COLOR.red}; }
small { color: #666; }
</style>
</head>
<body>
<h1>Cumulus system status</h1>
<div class="banner" data-status="${report.status}">${SUMMARY[report.status]}</div>
<table>
${rows}
</table>
${incidentList('Current incidents and maintenance', report.active)}
${incidentList('Scheduled maintenance', report.upcoming)}
${incidentList('History (last 90 days)', report.history)}
${replicaList(report.replicas)}
${maintenanceTable(report.maintenance)}
<p><small>Checked ${escapeHtml(report.checkedAt)} by live probes · <a href="/api/status">JSON</a></small></p>
</body>
</html>
`;
}
