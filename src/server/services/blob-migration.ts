/**
 * migrateBlobs moves an embedded server's packs to S3: every account's `packs/` and
 * `forgotten/` objects are copied from its folder to `prefix/<accountId>/` in the bucket,
 * then the account is verified there: every pack the index names is read back whole and
 * its SHA-256 and table checked against the index (the keyless `check --read-data`), and
 * the tombstones are counted. An object already in the bucket with the same size is not
 * sent again, so a migration that was interrupted continues where it stopped (what it
 * skips is verified like the rest). The folder's copies are left alone: the server uses
 * them until it is started with CUMULUS_BLOB_STORE.
 */
import { packIdOf } from '../../store/repository-store.ts';
import type { S3Settings } from '../../store/s3-client.ts';
import type { BlobInfo, BlobStore } from '../../store/types.ts';
import { accountsRoot, StoreAccountRepositories } from './account-repositories.ts';
import { openBlobStores } from './blob-stores.ts';

export interface AccountMigration {
  accountId: string;
  /** Objects (packs and tombstones) the account has in its folder. */
  objects: number;
  copied: number;
  /** Objects already in the bucket (an earlier, interrupted run). */
  skipped: number;
  bytesCopied: number;
  /** Packs the index names, each read back from the bucket and verified. */
  packsVerified: number;
  /** What does not match: a pack missing or damaged in the bucket, a tombstone missing. */
  problems: string[];
}

const TOMBSTONE = /^forgotten\/[0-9a-f]{64}$/;

/** isMigrated says which objects of an account's folder are its repository's: packs and tombstones. */
function isMigrated(name: string): boolean {
  return packIdOf(name) !== undefined || TOMBSTONE.test(name);
}

async function objectsOf(store: BlobStore): Promise<Map<string, BlobInfo>> {
  const objects = new Map<string, BlobInfo>();
  for (const prefix of ['packs/', 'forgotten/']) {
    for await (const object of store.list(prefix))
      if (isMigrated(object.name)) objects.set(object.name, object);
  }
  return objects;
}

/**
 * migrateBlobs copies and verifies every account, one after another, and reports each as
 * it is done (`onAccount`). A failed copy throws (run it again to continue).
 */
export async function migrateBlobs(
  dataDir: string,
  target: S3Settings,
  onAccount: (report: AccountMigration) => void = () => {},
): Promise<AccountMigration[]> {
  const root = accountsRoot(dataDir);
  const folders = openBlobStores({ kind: 'folder' }, root);
  const bucket = openBlobStores({ kind: 's3', settings: target }, root);
  const verifier = new StoreAccountRepositories(dataDir, { blobs: bucket });
  const reports: AccountMigration[] = [];
  try {
    for (const accountId of await verifier.accountIds()) {
      const dir = `${root}/${accountId}`;
      const from = folders.forAccount(accountId, dir);
      const to = bucket.forAccount(accountId, dir);
      const source = await objectsOf(from);
      const there = await objectsOf(to);
      const report: AccountMigration = {
        accountId,
        objects: source.size,
        copied: 0,
        skipped: 0,
        bytesCopied: 0,
        packsVerified: 0,
        problems: [],
      };
      // In name order, so an interrupted run has copied a prefix of the list.
      for (const name of [...source.keys()].sort()) {
        const object = source.get(name)!;
        if (there.get(name)?.size === object.size) {
          report.skipped++;
          continue;
        }
        // One object in memory at a time.
        await to.put(name, await from.get(name));
        report.copied++;
        report.bytesCopied += object.size;
      }
      const account = await verifier.forAccount(accountId);
      for (const check of await account.store.checkPacks({ readData: true })) {
        report.packsVerified++;
        if (!check.ok) report.problems.push(`pack ${check.packId}: ${check.problem}`);
      }
      const copiedTombstones = [...(await objectsOf(to)).keys()].filter((n) => TOMBSTONE.test(n));
      const tombstones = [...source.keys()].filter((n) => TOMBSTONE.test(n));
      if (copiedTombstones.length < tombstones.length)
        report.problems.push(`${tombstones.length - copiedTombstones.length} snapshot tombstone(s) missing`);
      reports.push(report);
      onAccount(report);
    }
  } finally {
    await verifier.close();
    folders.close();
  }
  return reports;
}
