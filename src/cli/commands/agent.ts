import type { Command } from 'commander';
import { desktopNotifier } from '../../agent/adapters/desktop-notifier.ts';
import { machineContext } from '../../agent/context.ts';
import { daemonHealth, restartAgent, runDaemon } from '../../agent/daemon.ts';
import { doctorDeps, runDoctor, topFinding } from '../../agent/doctor/doctor.ts';
import { installService } from '../../agent/service.ts';
import { noticeStaleBackup } from '../../agent/stale-backup-notice.ts';
import { Troubleshooter } from '../../agent/troubleshooter.ts';
import { CumulusError } from '../../core/errors.ts';

function positiveSeconds(value: string): number {
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0)
    throw new CumulusError(
      'usage',
      `--poll takes a number of seconds above 0 (got ${JSON.stringify(value)})`,
    );
  return seconds;
}

export function register(program: Command): void {
  const agent = program.command('agent').description('the background agent that backs up automatically');
  agent
    .command('run')
    .description('run the agent in the foreground until stopped (what the service runs)')
    .option(
      '--poll <seconds>',
      'evaluate the conditions this often (default 60); a change to the settings, the sign-in or a simulated sensor profile is acted on at once',
      positiveSeconds,
    )
    .action(async (options: { poll?: number }) => {
      const stop = new AbortController();
      const onSignal = () => stop.abort(new Error('stopping'));
      process.once('SIGTERM', onSignal);
      process.once('SIGINT', onSignal);
      const log = (line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);
      const timing = options.poll === undefined ? {} : { pollMs: options.poll * 1000 };
      const ctx = machineContext();
      const notifier = desktopNotifier(ctx.env);
      const afterEvaluation = () =>
        noticeStaleBackup({
          ...ctx,
          notifier,
          diagnose: async () => topFinding((await runDoctor(doctorDeps(ctx))).checks),
        });
      const troubleshooter = new Troubleshooter(() => runDoctor(doctorDeps(ctx)), ctx);
      await runDaemon(ctx, stop.signal, {
        log,
        timing,
        afterEvaluation,
        onTrouble: () => troubleshooter.request(),
      });
      await troubleshooter.idle();
    });
  agent
    .command('install')
    .description('start the agent at every login (systemd user unit on Linux, launchd on macOS)')
    .action(async () => {
      const ctx = machineContext();
      const result = await installService({ home: ctx.paths.home, env: ctx.env, logPath: ctx.paths.log });
      process.stdout.write(`${result.done.join('\n')}\n`);
    });
  agent
    .command('restart')
    .description('stop the agent, drop transient state (stale lock, stuck backup) and start it clean')
    .action(async () => {
      process.stdout.write(`${(await restartAgent(machineContext())).join('\n')}\n`);
    });
  agent
    .command('status')
    .description('whether the agent runs and responds')
    .option('--json', 'print as JSON')
    .action(async (options: { json?: boolean }) => {
      const health = await daemonHealth(machineContext());
      process.stdout.write(
        options.json ? `${JSON.stringify(health, null, 2)}\n` : `${health.evidence.join('\n')}\n`,
      );
      if (!health.responsive) process.exitCode = 1;
    });
}
