/** `cumulus approve` lists sign-ins waiting for approval with the codes to give the new devices; `--deny ID` refuses one. */
import type { Command } from 'commander';
import * as auth from '../../api/auth.ts';
import { printable } from '../format.ts';
import { printJson } from '../repository-options.ts';
import { signedIn } from '../signed-in.ts';

export function register(program: Command): void {
  program
    .command('approve')
    .description(
      'show the verification codes of new devices signing in to this account (type the code on the new device)',
    )
    .option('--deny <id>', 'refuse this pending sign-in (it was not you)')
    .option('--json', 'print JSON')
    .action(async (options: { deny?: string; json?: boolean }) => {
      const { client } = await signedIn();
      if (options.deny) {
        await client.call(auth.denyApproval, { params: { signInId: options.deny } });
        process.stdout.write(`refused sign-in ${options.deny}\n`);
        return;
      }
      const { approvals } = await client.call(auth.listApprovals, {});
      if (options.json) return printJson({ approvals });
      if (approvals.length === 0) {
        process.stdout.write('no device is waiting for approval\n');
        return;
      }
      for (const a of approvals) {
        process.stdout.write(
          `code ${a.code}  for "${printable(a.deviceName)}" (${printable(a.platform)}, from ${printable(a.ip)}), expires ${a.expiresAt}\n` +
            `  not you? run: cumulus approve --deny ${a.id}\n`,
        );
      }
    });
}
