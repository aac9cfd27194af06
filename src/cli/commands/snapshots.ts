import type { Command } from 'commander';
import * as lifecycle from '../../api/lifecycle.ts';
import * as repository from '../../api/repository.ts';
import { AccountClient } from '../../client/account-client.ts';
import { RemoteRepository } from '../../client/remote-repository.ts';
import { CumulusError } from '../../core/errors.ts';
import { formatBytes } from '../../core/units.ts';
import { EXIT } from '../exit-codes.ts';
import { table } from '../format.ts';
import { printJson, withRepository, withRepositoryOptions } from '../repository-options.ts';
import { signedIn } from '../signed-in.ts';

/**
 * resolveSnapshotId finds the one snapshot of the account a reference names: `latest` (this
 * device's newest) or a prefix of at least 4 hex characters of its ID. The server's
 * listing is enough: no description needs decrypting.
 */
async function resolveSnapshotId(client: AccountClient, ref: string): Promise<string> {
  const which = ref === 'latest' ? 'self' : 'all';
  const { snapshots } = await client.call(repository.listSnapshots, { query: { device: which } });
  if (ref === 'latest') {
    const newest = snapshots.toSorted((a, b) => Date.parse(b.time) - Date.parse(a.time))[0];
    if (newest === undefined) throw new CumulusError('snapshot_not_found', 'this device has no snapshot yet');
    return newest.id;
  }
  if (!/^[0-9a-f]{4,64}$/.test(ref)) {
    throw new CumulusError('usage', `"${ref}" is not a snapshot ID`, {
      hint: 'give `latest` or at least 4 characters of an ID from `cumulus snapshots`',
    });
  }
  const matches = snapshots.filter((s) => s.id.startsWith(ref));
  if (matches.length === 1) return matches[0].id;
  throw new CumulusError(
    matches.length === 0 ? 'snapshot_not_found' : 'usage',
    matches.length === 0 ? `no snapshot ${ref} in this account` : `${ref} names ${matches.length} snapshots`,
    { hint: matches.length === 0 ? 'list them with `cumulus snapshots`' : 'give more characters of the ID' },
  );
}

function registerPins(snapshots: Command): void {
  for (const [name, endpoint, done] of [
    ['pin', lifecycle.pinSnapshot, 'pinned: retention keeps it, forget refuses it until unpinned'],
    ['unpin', lifecycle.unpinSnapshot, 'unpinned: retention applies to it again'],
  ] as const) {
    snapshots
      .command(`${name} <snapshot>`)
      .description(
        name === 'pin'
          ? 'keep a snapshot whatever retention says (by ID prefix or latest; signed in)'
          : 'let retention apply to a pinned snapshot again',
      )
      .action(async (ref: string) => {
        const { client } = await signedIn();
        const snapshotId = await resolveSnapshotId(client, ref);
        await client.call(endpoint, { params: { snapshotId } });
        process.stdout.write(`snapshot ${snapshotId.slice(0, 8)} ${done}\n`);
      });
  }
}

export function register(program: Command): void {
  const command = withRepositoryOptions(
    program
      .command('snapshots')
      .description('list snapshots, oldest first (pin and unpin them on an account)'),
  )
    .option('--json', 'print as JSON')
    .action(async (options) => {
      const { snapshots, unreadable, deviceNames, pinned } = await withRepository(
        options,
        async (vault, target) => ({
          ...(await vault.readSnapshots()),
          // On an account, the server names the device that made each snapshot (as it is called now).
          deviceNames: vault.repo instanceof RemoteRepository ? vault.repo.deviceNames : undefined,
          pinned: target.device
            ? new Set(
                (
                  await new AccountClient({
                    serverUrl: target.device.serverUrl,
                    token: target.device.token,
                  }).call(lifecycle.listPins, {})
                ).snapshots.map((pin) => pin.snapshotId),
              )
            : undefined,
        }),
      );
      // One lost description costs its own snapshot: the others are still listed.
      for (const { record, reason } of unreadable)
        process.stderr.write(
          `cumulus: snapshot ${record.id.slice(0, 8)} of ${record.time} cannot be read: ${reason}\n`,
        );
      if (unreadable.length > 0) {
        process.stderr.write('hint: `cumulus check` names the damage\n');
        process.exitCode = EXIT.partial;
      }
      if (options.json) {
        printJson(
          snapshots.map(({ record, info }) => ({
            id: record.id,
            time: info.time,
            host: info.host,
            ...(deviceNames && { device: deviceNames.get(record.device) ?? null }),
            ...(pinned && { pinned: pinned.has(record.id) }),
            user: info.user,
            tags: info.tags,
            paths: info.sources.map((s) => s.path),
            parent: info.parent,
            summary: info.summary,
          })),
        );
        return;
      }
      const rows = snapshots.map(({ record, info }) => [
        `${record.id.slice(0, 8)}${pinned?.has(record.id) ? ' (pinned)' : ''}`,
        new Date(info.time).toLocaleString(),
        info.host,
        info.tags.join(','),
        formatBytes(info.summary.logicalBytes),
        info.sources.map((s) => s.path).join(', '),
      ]);
      process.stdout.write(
        `${table(['ID', 'Time', 'Host', 'Tags', 'Size', 'Paths'], rows)}\n${snapshots.length} snapshot(s)\n`,
      );
    });
  registerPins(command);
}
