/**
 * migrateServer moves an embedded server (SQLite files and packs in its data folder) to
 * PostgreSQL (`databaseUrl`), to S3-compatible storage (`blobs`), or both, and verifies
 * every account where it landed. Run with the server stopped (it refuses otherwise); run
 * it again after an interruption and it continues:
 *
 * - the server database is copied whole in one transaction (small: accounts, devices,
 *   sessions, plans, the audit log), again on every run until the migration completes;
 * - each account's index is copied in one transaction (postgres-import.ts) and recorded
 *   with a fingerprint of the source index: a later run skips it while the fingerprint
 *   matches, and copies it again if the embedded server ran in between;
 * - each account's packs and snapshot tombstones are copied to the bucket in name order;
 *   an object already there with the same size is not sent again;
 * - then the account is verified against its source: the same usage, snapshots, packs,
 *   blob IDs and per-device breakdown (which decodes every reference set, so a renumbering
 *   error shows), and a keyless `check` of every pack where the server will read it (with
 *   `--blobs` every byte is read back and hashed; otherwise each pack's size).
 *
 * The source is the server as it runs now (its data folder, and CUMULUS_DATABASE_URL and
 * CUMULUS_BLOB_STORE if set): a server already on PostgreSQL can still move its packs, and
 * one whose packs are already in a bucket its database (they are checked where they are).
 *
 * Progress lives in the target database (table `embedded_import`); once every account
 * verifies, the migration is marked complete and never runs over that database again (a
 * server started on it since would lose its writes). Nothing in the data folder changes.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type pg from 'pg';
import { CumulusError } from '../../core/errors.ts';
import { BLOB_TYPES } from '../../core/pack.ts';
import type { MetaStore } from '../../store/meta-store.ts';
import { openPostgresPool } from '../../store/postgres.ts';
import { importSqliteIndex } from '../../store/postgres-import.ts';
import { PostgresMetaStore } from '../../store/postgres-meta-store.ts';
import { packIdOf, RepositoryStore } from '../../store/repository-store.ts';
import type { S3Settings } from '../../store/s3-client.ts';
import type { BlobInfo, BlobStore } from '../../store/types.ts';
import { systemClock } from '../clock.ts';
import { copyServerDatabase, countRows, serverTables, type TableCount } from '../db/copy-database.ts';
import type { Database } from '../db/database.ts';
import { MIGRATIONS } from '../db/migrations.ts';
import { PostgresDatabase } from '../db/postgres-database.ts';
import { SqliteDatabase } from '../db/sqlite-database.ts';
import { accountsRoot } from './account-repositories.ts';
import { type BlobStoreConfig, openBlobStores } from './blob-stores.ts';
import { ImportProgress } from './import-progress.ts';
import { openMetaStores } from './meta-stores.ts';
import { Replicas } from './replicas.ts';

/** The server to move: its data folder, and where it keeps its database and packs now. */
export interface MigrationSource {
  dataDir: string;
  /** Set when the server already runs on PostgreSQL: then only its packs can move. */
  databaseUrl?: string;
  blobs: BlobStoreConfig;
}

/** Where to move an embedded server: its database, its packs, or both. */
export interface MigrationTarget {
  /** postgres:// URL of an empty database (or one an interrupted migration began). */
  databaseUrl?: string;
  blobs?: S3Settings;
}

export interface AccountMigration {
  accountId: string;
  /** With a database URL: what the account's index copy wrote, or copied: false when an earlier run did. */
  index?: { copied: boolean; packs: number; blobs: number; snapshots: number };
  /** With a bucket: objects (packs and tombstones) in the account's folder, copied now or already there. */
  objects: number;
  copied: number;
  skipped: number;
  bytesCopied: number;
  /** Packs the index names, each checked where the server will read it. */
  packsVerified: number;
  /** What does not match the source: an index difference, a pack missing or damaged, a tombstone missing. */
  problems: string[];
  /**
   * Packs missing or damaged in the embedded server already (its own check finds the same):
   * the migration copies the repository as it is, damage included, and does not fail for it.
   */
  inherited: string[];
}

export interface ServerMigration {
  /** With a database URL: each copied table's rows in the source (the target was checked to hold as many). */
  tables: TableCount[];
  accounts: AccountMigration[];
  /** Server-level differences (a table whose row count differs). */
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

/** snapshotsOf lists snapshots in one order, their sources too, to compare two stores. */
async function snapshotsOf(meta: MetaStore) {
  return (await meta.listSnapshots())
    .map((s) => ({ ...s, sources: [...s.sources].sort((a, b) => a.id.localeCompare(b.id)) }))
    .sort((a, b) => a.id.localeCompare(b.id));
}

/** blobDigest names the set of blob IDs of each type in one line. */
async function blobDigest(meta: MetaStore): Promise<string[]> {
  const digests: string[] = [];
  for (const type of BLOB_TYPES) {
    const ids = (await meta.listBlobIds(type)).sort();
    const hash = createHash('sha256');
    for (const id of ids) hash.update(id);
    digests.push(`${type}:${ids.length}:${hash.digest('hex')}`);
  }
  return digests;
}

/** fingerprint changes with any backup, forget or collection of the index. */
async function fingerprint(meta: MetaStore): Promise<string> {
  const facts = {
    usage: await meta.usage(),
    generation: (await meta.blobsSince(Number.MAX_SAFE_INTEGER, 1)).generation,
    snapshots: await snapshotsOf(meta),
  };
  return createHash('sha256').update(JSON.stringify(facts)).digest('hex');
}

/** indexDifferences compares what a server reads from two indexes of one repository. */
async function indexDifferences(source: MetaStore, target: MetaStore): Promise<string[]> {
  const problems: string[] = [];
  const packs = async (meta: MetaStore) => (await meta.listPacks()).map((p) => `${p.id}:${p.size}`).sort();
  const breakdown = async (meta: MetaStore) => {
    const b = await meta.storageBreakdown();
    return { ...b, devices: [...b.devices].sort((x, y) => x.device.localeCompare(y.device)) };
  };
  const checks: [string, (meta: MetaStore) => Promise<unknown>][] = [
    ['usage', (meta) => meta.usage()],
    ['snapshots', snapshotsOf],
    ['packs', packs],
    ['blob IDs', blobDigest],
    ['per-device breakdown', breakdown],
  ];
  for (const [what, read] of checks) {
    if (!isDeepStrictEqual(await read(source), await read(target)))
      problems.push(`the ${what} differ from the embedded index`);
  }
  return problems;
}

async function refuseRunning(db: Database, where: string): Promise<void> {
  const running = await new Replicas(db, systemClock).list();
  if (running.length > 0) {
    throw new CumulusError('conflict', `${running.length} server process(es) run on ${where}`, {
      hint: `stop them (${running.map((r) => `${r.host} pid ${r.pid}`).join(', ')}), then migrate`,
    });
  }
}

/** copyDatabase brings the PostgreSQL database to the schema, checks that it may be migrated into, and copies the server database. */
async function copyDatabase(
  source: Database,
  target: PostgresDatabase,
): Promise<{ progress: ImportProgress; tables: TableCount[]; problems: string[] }> {
  await target.migrate(MIGRATIONS);
  await refuseRunning(target, 'the target database');
  const progress = new ImportProgress(target);
  await progress.open();
  if (await progress.complete()) {
    throw new CumulusError('conflict', 'this database already holds a completed migration', {
      hint: 'start the server with CUMULUS_DATABASE_URL; to migrate again, use an empty database',
    });
  }
  const accounts = await target.get<{ n: number }>('SELECT count(*) AS n FROM accounts');
  if ((await progress.get('server')) === undefined && Number(accounts!.n) > 0) {
    throw new CumulusError('conflict', "the target database already holds a server's accounts", {
      hint: 'migrate into an empty database',
    });
  }
  const tables = await serverTables(source);
  await copyServerDatabase(source, target, tables, (tx) => progress.set('server', 'copied', tx));
  const before = await countRows(source, tables);
  const after = await countRows(target, tables);
  const problems = before.flatMap((count, i) =>
    count.rows === after[i].rows
      ? []
      : [`table ${count.table}: ${count.rows} row(s) embedded, ${after[i].rows} copied`],
  );
  return { progress, tables: before, problems };
}

/**
 * migrateServer migrates and verifies every account, one after another, and reports each
 * as it is done (`onAccount`). A failed copy throws (run it again to continue).
 */
export async function migrateServer(
  source: MigrationSource,
  target: MigrationTarget,
  onAccount: (report: AccountMigration) => void = () => {},
): Promise<ServerMigration> {
  refuseNothingToDo(source, target);
  const root = accountsRoot(source.dataDir);
  const sourcePool = source.databaseUrl === undefined ? undefined : openPostgresPool(source.databaseUrl);
  const sourceDb =
    sourcePool === undefined
      ? new SqliteDatabase(join(source.dataDir, 'server.sqlite'))
      : new PostgresDatabase(sourcePool);
  const sourceMetas = openMetaStores(sourcePool, root);
  let pool: pg.Pool | undefined;
  const packsFrom = openBlobStores(source.blobs, root);
  const bucket = target.blobs && openBlobStores({ kind: 's3', settings: target.blobs }, root);
  try {
    await sourceDb.migrate(MIGRATIONS);
    // Backups written while copying would be missed: no server may run on the data.
    await refuseRunning(sourceDb, 'this data');
    const migration: ServerMigration = { tables: [], accounts: [], problems: [] };
    let progress: ImportProgress | undefined;
    if (target.databaseUrl !== undefined) {
      pool = openPostgresPool(target.databaseUrl);
      const copied = await copyDatabase(sourceDb, new PostgresDatabase(pool));
      progress = copied.progress;
      migration.tables = copied.tables;
      migration.problems = copied.problems;
    }
    for (const accountId of await sourceMetas.accounts()) {
      const dir = join(root, accountId);
      const report: AccountMigration = {
        accountId,
        objects: 0,
        copied: 0,
        skipped: 0,
        bytesCopied: 0,
        packsVerified: 0,
        problems: [],
        inherited: [],
      };
      const sourceIndex = sourceMetas.forAccount(accountId, dir);
      let index = sourceIndex;
      try {
        if (pool !== undefined && progress !== undefined) {
          index = new PostgresMetaStore(pool, accountId);
          const print = await fingerprint(sourceIndex);
          if ((await progress.get(`account:${accountId}`)) === print) {
            const usage = await index.usage();
            report.index = {
              copied: false,
              packs: usage.packs,
              blobs: usage.blobs,
              snapshots: usage.snapshots,
            };
          } else {
            const counts = await importSqliteIndex(pool, accountId, join(dir, 'index.sqlite'));
            await progress.set(`account:${accountId}`, print);
            report.index = { copied: true, ...counts };
          }
          report.problems.push(...(await indexDifferences(sourceIndex, index)));
        }
        let packs = packsFrom.forAccount(accountId, dir);
        if (bucket !== undefined) {
          const from = packs;
          packs = bucket.forAccount(accountId, dir);
          await copyObjects(from, packs, report);
        }
        const readData = bucket !== undefined;
        const failed = new Map<string, string>();
        for (const check of await new RepositoryStore(index, packs).checkPacks({ readData })) {
          report.packsVerified++;
          if (!check.ok) failed.set(check.packId, check.problem!);
        }
        if (failed.size > 0) {
          // Damage the embedded server has too was carried over, not made by the migration.
          const before = await new RepositoryStore(
            sourceIndex,
            packsFrom.forAccount(accountId, dir),
          ).checkPacks({
            readData,
          });
          const damaged = new Set(before.filter((c) => !c.ok).map((c) => c.packId));
          for (const [packId, problem] of failed)
            (damaged.has(packId) ? report.inherited : report.problems).push(`pack ${packId}: ${problem}`);
        }
      } finally {
        await sourceIndex.close();
      }
      migration.accounts.push(report);
      onAccount(report);
    }
    const ok = migration.problems.length === 0 && migration.accounts.every((a) => a.problems.length === 0);
    if (ok && progress !== undefined) await progress.markComplete();
    return migration;
  } finally {
    bucket?.close();
    packsFrom.close();
    await pool?.end();
    await sourceDb.close();
    await sourcePool?.end();
  }
}

/** refuseNothingToDo refuses a move to where the data already is. */
function refuseNothingToDo(source: MigrationSource, target: MigrationTarget): void {
  if (target.databaseUrl !== undefined && source.databaseUrl !== undefined) {
    throw new CumulusError(
      'usage',
      'this server already keeps its database in PostgreSQL (CUMULUS_DATABASE_URL)',
      {
        hint: 'migrate --to moves an embedded server: unset CUMULUS_DATABASE_URL to name the SQLite data, or drop --to',
      },
    );
  }
  const from = source.blobs.kind === 's3' ? source.blobs.settings : undefined;
  const to = target.blobs;
  if (
    from !== undefined &&
    to !== undefined &&
    from.bucket === to.bucket &&
    from.prefix === to.prefix &&
    from.endpoint === to.endpoint
  ) {
    throw new CumulusError('usage', 'the packs are already there (CUMULUS_BLOB_STORE names the same place)', {
      hint: 'name another bucket or prefix with --blobs, or drop it',
    });
  }
}

/** copyObjects copies an account's packs and tombstones that the bucket lacks, in name order, one in memory at a time. */
async function copyObjects(from: BlobStore, to: BlobStore, report: AccountMigration): Promise<void> {
  const source = await objectsOf(from);
  const there = await objectsOf(to);
  report.objects = source.size;
  for (const name of [...source.keys()].sort()) {
    const object = source.get(name)!;
    if (there.get(name)?.size === object.size) {
      report.skipped++;
      continue;
    }
    await to.put(name, await from.get(name));
    report.copied++;
    report.bytesCopied += object.size;
  }
  const copiedTombstones = [...(await objectsOf(to)).keys()].filter((n) => TOMBSTONE.test(n)).length;
  const tombstones = [...source.keys()].filter((n) => TOMBSTONE.test(n)).length;
  if (copiedTombstones < tombstones)
    report.problems.push(`${tombstones - copiedTombstones} snapshot tombstone(s) missing`);
}
