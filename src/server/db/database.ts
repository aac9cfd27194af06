/**
 * Database is the server's metadata port: a few async calls over SQL with `?`
 * placeholders, so SQLite (the embedded default) and PostgreSQL both sit
 * behind it. Statements use portable SQL; times are integer milliseconds since the epoch,
 * booleans 0/1.
 */
import { CumulusError } from '../../core/errors.ts';

export type SqlValue = string | number | bigint | null | Uint8Array;

/** SqlExecutor runs statements, inside or outside a transaction. */
export interface SqlExecutor {
  all<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  get<T>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined>;
  run(sql: string, params?: readonly SqlValue[]): Promise<{ changes: number }>;
}

export interface Database extends SqlExecutor {
  /** The engine behind the port, for the admin's server health. */
  readonly kind: 'sqlite' | 'postgres';
  /**
   * transaction runs `work` atomically: every statement it issues through `tx` commits
   * together, or none does if it throws. Statements outside wait until it ends, so keep
   * slow work (password hashing, network) out of it. Two transactions never interleave,
   * but one with a `scope` waits only for those of the same scope (on PostgreSQL; SQLite
   * has one writer): give a scope only to work whose reads and writes no transaction of
   * another scope, or none, depends on (one account's upload claims).
   */
  transaction<T>(work: (tx: SqlExecutor) => Promise<T>, options?: { scope?: string }): Promise<T>;
  /**
   * migrate applies the steps not applied yet, in order, each in its own transaction, and
   * returns the schema version reached (the number of steps).
   */
  migrate(steps: readonly string[]): Promise<number>;
  /** sizeBytes is how much space the database takes where it is stored, for the admin's server health. */
  sizeBytes(): Promise<number>;
  close(): Promise<void>;
}

/** newerSchemaError refuses a database a newer server migrated: this one cannot know its tables. */
export function newerSchemaError(version: number): CumulusError {
  return new CumulusError(
    'conflict',
    `the database was written by a newer Cumulus server (schema ${version})`,
    {
      hint: 'run that newer server version, or restore a backup of the database',
    },
  );
}
