/**
 * The PostgreSQL connection both the server database and the account meta stores use:
 * one pool per process for one `postgres://` URL. Integers (BIGINT, counts, sums) come
 * back as numbers and booleans as 0/1, the way node:sqlite returns them, so one query
 * reads the same on either engine. Every value Cumulus stores fits in 2^53 (bytes, ms).
 */
import pg from 'pg';

const INT8 = 20;
const NUMERIC = 1700;
const BOOL = 16;

const TYPES = {
  getTypeParser(oid: number, format?: string) {
    if (oid === INT8 || oid === NUMERIC) return (text: string) => Number(text);
    if (oid === BOOL) return (text: string) => (text === 't' ? 1 : 0);
    return pg.types.getTypeParser(oid, format as 'text');
  },
} as pg.CustomTypesConfig;

/** openPostgresPool opens a pool of connections to `url` (nothing connects until the first query). */
export function openPostgresPool(url: string, options: { max?: number } = {}): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, types: TYPES, max: options.max ?? 10 });
  // An idle connection that the server drops must not crash the process; the next query reconnects.
  pool.on('error', () => {});
  return pool;
}

/** Quoted strings and identifiers pass through the placeholder rewrites untouched. */
const QUOTED = `'(?:[^']|'')*'|"(?:[^"]|"")*"`;

/**
 * toPositional turns `?` placeholders (outside quoted strings) into PostgreSQL's `$1, $2, …`.
 * A parameter tested with `IS NULL` gets a type (`$1::text`): PostgreSQL cannot infer one.
 */
export function toPositional(sql: string): string {
  let n = 0;
  return sql.replace(new RegExp(`${QUOTED}|\\?(\\s+IS\\s+(?:NOT\\s+)?NULL\\b)?`, 'gi'), (match, isNull) => {
    if (match[0] === "'" || match[0] === '"') return match;
    n += 1;
    return isNull === undefined ? `$${n}` : `$${n}::text${isNull}`;
  });
}

/**
 * toNumbered turns `:name` placeholders into `$1, $2, …` and returns the names in order,
 * so a statement written for node:sqlite's named parameters runs on PostgreSQL.
 */
export function toNumbered(sql: string): { text: string; names: string[] } {
  const names: string[] = [];
  const text = sql.replace(new RegExp(`${QUOTED}|(?<![:\\w]):([A-Za-z_]\\w*)`, 'g'), (match, name) => {
    if (name === undefined) return match;
    let index = names.indexOf(name);
    if (index < 0) index = names.push(name) - 1;
    return `$${index + 1}`;
  });
  return { text, names };
}

/**
 * lockingBegin is the text that opens a transaction and takes a transaction-scoped advisory
 * lock in one round trip (a query without parameters may hold several statements). The keys
 * are integers or SQL text built with pg.escapeLiteral.
 */
export function lockingBegin(...keys: (number | string)[]): string {
  return `BEGIN; SELECT pg_advisory_xact_lock(${keys.join(', ')})`;
}

/**
 * inTransaction runs `work` on one connection of the pool between `begin` (BEGIN, BEGIN
 * with an isolation level, or lockingBegin's) and COMMIT, and rolls back if it throws. A
 * connection that cannot even roll back is closed instead of going back to the pool.
 */
export async function inTransaction<T>(
  pool: pg.Pool,
  begin: string,
  work: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query(begin);
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch((rollback: Error) => (broken = rollback));
    throw error;
  } finally {
    client.release(broken);
  }
}
