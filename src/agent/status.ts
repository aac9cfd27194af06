/**
 * agentStatus is what `cumulus status` shows: the last successful backup, what the agent
 * is doing or waiting for now and why, the next step, and storage used of the plan.
 */

import { describeReason } from '../api/reason-words.ts';
import { describeForecast, type SpaceForecast } from '../core/space-forecast.ts';
import { formatBytes } from '../core/units.ts';
import type { AgentContext } from './context.ts';
import { type DaemonHealth, daemonHealth } from './daemon.ts';
import { describeProgress, formatClock, formatDuration, formatWhen } from './format.ts';
import type { SilentDevice } from './ports.ts';
import type { AgentState, ReasonEntry } from './state.ts';

export interface StatusReport {
  backupEnabled: boolean;
  signedIn: boolean;
  serverUrl: string | null;
  agent: Pick<DaemonHealth, 'running' | 'responsive' | 'pid'>;
  lastSuccess: AgentState['lastSuccess'];
  lastFailure: AgentState['lastFailure'];
  activity: AgentState['activity'];
  nextDueAt: number | null;
  nextStep: string;
  storage: { usedBytes: number; quotaBytes: number; plan: string } | null;
  /** When the plan is full at the account's recent rate, retention counted; null when the server did not say. */
  forecast: SpaceForecast | null;
  recent: ReasonEntry[];
  /** The account's other devices the server found silent (the banner the console shows too). */
  silentDevices: SilentDevice[];
}

export async function agentStatus(ctx: AgentContext, health?: DaemonHealth): Promise<StatusReport> {
  const now = ctx.clock.now();
  const [state, backupSwitch, identity, agent, usage, silent, forecast] = await Promise.all([
    ctx.state.read(now),
    ctx.backupSwitch.read(),
    ctx.deviceState.read().catch(() => null),
    health ?? daemonHealth(ctx),
    ctx.server.usage().catch(() => null),
    ctx.server.silentDevices().catch(() => []),
    ctx.server.forecast().catch(() => null),
  ]);
  const report: StatusReport = {
    backupEnabled: backupSwitch.enabled,
    signedIn: identity !== null,
    serverUrl: identity?.serverUrl ?? null,
    agent: {
      running: agent.running,
      responsive: agent.responsive,
      ...(agent.pid !== undefined && { pid: agent.pid }),
    },
    lastSuccess: state.lastSuccess,
    lastFailure: state.lastFailure,
    activity: state.activity,
    nextDueAt: state.nextDueAt,
    nextStep: '',
    storage: usage && {
      usedBytes: usage.usedBytes,
      quotaBytes: usage.plan.quotaBytes,
      plan: usage.plan.name,
    },
    forecast,
    recent: state.reasons.slice(-10),
    silentDevices: silent.filter((device) => !device.current),
  };
  report.nextStep = nextStep(report);
  return report;
}

function nextStep(r: StatusReport): string {
  if (!r.signedIn) return 'sign in: cumulus login URL';
  if (!r.backupEnabled) return 'switch backup on: cumulus enable';
  if (!r.agent.running) return 'start the agent: cumulus agent install (or cumulus agent run)';
  if (!r.agent.responsive) return 'the agent is not responding: cumulus agent restart';
  if (r.activity.kind === 'waiting')
    return 'the backup starts by itself once that is resolved; cumulus doctor says how';
  if (r.activity.kind === 'backing-up' || r.activity.kind === 'retrying')
    return 'nothing: the backup is running';
  if (r.nextDueAt) return `nothing: the next backup is due at ${formatWhen(r.nextDueAt)}`;
  return 'nothing: the agent checks every minute';
}

/** renderStatus prints the report for a person. */
export function renderStatus(r: StatusReport, now: number): string {
  const lines = [
    `Backup:       ${r.backupEnabled ? 'on' : 'off'}${r.serverUrl ? ` (signed in to ${r.serverUrl})` : r.signedIn ? '' : ' (not signed in)'}`,
    `Agent:        ${r.agent.running ? `running (pid ${r.agent.pid})${r.agent.responsive ? '' : ', not responding'}` : 'not running'}`,
    `Last backup:  ${r.lastSuccess ? `${formatWhen(r.lastSuccess.at)} (${formatDuration(now - r.lastSuccess.at)} ago), ${formatBytes(r.lastSuccess.bytesAdded)} added` : 'never'}`,
    `Now:          ${r.agent.running ? '' : 'nothing, the agent is not running; last known: '}${r.activity.message}${r.activity.kind === 'waiting' ? ` since ${formatClock(r.activity.since)}` : ''}`,
  ];
  const p = r.activity.progress;
  if (p && r.activity.kind === 'backing-up') lines.push(`Progress:     ${describeProgress(p)}`);
  if (r.lastFailure && (!r.lastSuccess || r.lastFailure.at > r.lastSuccess.at)) {
    lines.push(`Last failure: ${formatWhen(r.lastFailure.at)}: ${r.lastFailure.message}`);
  }
  lines.push(`Next:         ${r.nextStep}`);
  if (r.storage) {
    lines.push(
      `Storage:      ${formatBytes(r.storage.usedBytes)} of ${formatBytes(r.storage.quotaBytes)} (${r.storage.plan} plan)`,
    );
  }
  if (r.forecast)
    lines.push(
      `${(r.forecast.warning ? 'Warning:' : 'Forecast:').padEnd(14)}${describeForecast(r.forecast)}`,
    );
  for (const d of r.silentDevices) {
    const why = describeReason(d.reason);
    lines.push(
      `Attention:    ${d.name} has not backed up for ${d.silentDays} days${why ? `: ${why}` : ''}` +
        (d.deletesAt === null ? '' : ` (its backups will be deleted on ${formatWhen(d.deletesAt)})`),
    );
  }
  if (r.recent.length > 0) {
    lines.push('', 'Recent:');
    for (const e of r.recent) {
      const span = e.count > 1 ? ` (×${e.count}, until ${formatClock(e.lastAt)})` : '';
      lines.push(`  ${formatWhen(e.since)}  ${e.message}${span}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
