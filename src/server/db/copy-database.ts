/**
 * copyServerDatabase copies an embedded server's database (SQLite) into a PostgreSQL one
 * at the same schema version, every table in one transaction, replacing the rows the
 * target held: a copy cut off midway leaves nothing, and running it again starts over.
 * The tables are read from SQLite's catalog in the order they were made, so a table comes
 * after those its foreign keys name; the replica heartbeats and leases, request counts
 * and upload claims are the stopped processes' and stay behind. Identity columns (`INTEGER PRIMARY KEY`) are copied as they
 * are and their sequences moved past the largest copied value.
 */
import type { Database, SqlExecutor, SqlValue } from './database.ts';

/** Tables that describe running processes, not data: a new server writes its own. */
const PROCESS_TABLES = new Set(['replicas', 'leases', 'request_counts', 'upload_claims']);

/** PostgreSQL takes at most 65,535 parameters per statement. */
const MAX_PARAMETERS = 30_000;

interface Column {
  name: string;
  type: string;
  pk: number;
}

/** TableCount is how many rows one table has in the source and, after the copy, in the target. */
export interface TableCount {
  table: string;
  rows: number;
}

/** serverTables lists the source's tables that hold data, in creation order. */
export async function serverTables(source: Database): Promise<string[]> {
  const rows = await source.all<{ name: string }>(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY rowid",
  );
  return rows.map((r) => r.name).filter((name) => !PROCESS_TABLES.has(name));
}

/** countRows counts each table's rows in `db`, to compare the source with the target. */
export async function countRows(db: Database, tables: readonly string[]): Promise<TableCount[]> {
  const counts: TableCount[] = [];
  for (const table of tables) {
    const row = await db.get<{ n: number }>(`SELECT count(*) AS n FROM ${table}`);
    counts.push({ table, rows: Number(row!.n) });
  }
  return counts;
}

async function copyTable(source: Database, tx: SqlExecutor, table: string): Promise<void> {
  const columns = await source.all<Column>(`SELECT name, type, pk FROM pragma_table_info('${table}')`);
  const names = columns.map((c) => c.name);
  const perStatement = Math.max(1, Math.floor(MAX_PARAMETERS / names.length));
  const select = `SELECT rowid AS copy_rowid, ${names.map((n) => `"${n}"`).join(', ')} FROM ${table}
    WHERE rowid > ? ORDER BY rowid LIMIT ${perStatement}`;
  const tuple = `(${names.map(() => '?').join(', ')})`;
  for (let after = -1; ; ) {
    const rows = await source.all<Record<string, SqlValue>>(select, [after]);
    if (rows.length === 0) break;
    await tx.run(
      `INSERT INTO ${table} (${names.map((n) => `"${n}"`).join(', ')}) VALUES ${rows.map(() => tuple).join(', ')}`,
      rows.flatMap((row) => names.map((n) => row[n])),
    );
    after = Number(rows.at(-1)!.copy_rowid);
  }
  const identity = columns.filter((c) => c.pk > 0);
  if (identity.length === 1 && identity[0].type.toUpperCase() === 'INTEGER') {
    const column = identity[0].name;
    await tx.run(
      `SELECT setval(pg_get_serial_sequence(?, ?), (SELECT coalesce(max("${column}"), 0) + 1 FROM ${table}), false)`,
      [table, column],
    );
  }
}

/**
 * copyServerDatabase copies `tables` (serverTables of the source) from the SQLite `source`
 * into the PostgreSQL `target`; `alsoInTransaction` runs in the same transaction (the
 * migration records its progress there).
 */
export async function copyServerDatabase(
  source: Database,
  target: Database,
  tables: readonly string[],
  alsoInTransaction: (tx: SqlExecutor) => Promise<void>,
): Promise<void> {
  await target.transaction(async (tx) => {
    for (const table of [...tables].reverse()) await tx.run(`DELETE FROM ${table}`);
    for (const table of tables) await copyTable(source, tx, table);
    await alsoInTransaction(tx);
  });
}
