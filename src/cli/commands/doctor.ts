import type { Command } from 'commander';
import { askYesNo } from '../../agent/ask.ts';
import { machineContext } from '../../agent/context.ts';
import { doctorDeps, runDoctor } from '../../agent/doctor/doctor.ts';
import { doctorJson, renderDoctor } from '../../agent/doctor/render.ts';
import { shareDoctorReport } from '../../agent/troubleshooter.ts';

export function register(program: Command): void {
  program
    .command('doctor')
    .description('check everything a backup needs on this device, say what is wrong and how to fix it')
    .option('--json', 'print the checks as JSON')
    .option('--fix', 'apply the safe fixes (asks before changing settings)')
    .option('--yes', 'with --fix, do not ask')
    .action(async (options: { json?: boolean; fix?: boolean; yes?: boolean }) => {
      const ctx = machineContext();
      const deps = doctorDeps(ctx);
      const report = await runDoctor(deps, { fix: options.fix, yes: options.yes, ask: (q) => askYesNo(q) });
      process.stdout.write(
        options.json ? `${JSON.stringify(doctorJson(report), null, 2)}\n` : renderDoctor(report),
      );
      if (!report.ok) process.exitCode = 1;
      // For the console's troubleshooter; the result above stands whether or not it arrives.
      await shareDoctorReport(ctx, report).catch((error: unknown) => {
        process.stderr.write(
          `the web console's troubleshooter did not get this result: ${(error as Error).message}\n`,
        );
      });
    });
}
