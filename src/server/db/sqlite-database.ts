/**
 * SqliteDatabase implements the Database port over Node's built-in `node:sqlite`, in WAL
 * mode. SQLite is synchronous and has one connection here, so transactions are serialised
 * with a queue: a statement issued outside a transaction waits for the running one, and
 * can never slip into it.
 */
import { DatabaseSync, type SQLInputValue } from 'node:sqlite';
import { type Database, newerSchemaError, type SqlExecutor, type SqlValue } from './database.ts';

export class SqliteDatabase implements Database {
  readonly kind = 'sqlite';
  readonly #db: DatabaseSync;
  #queue: Promise<unknown> = Promise.resolve();
  readonly #direct: SqlExecutor;

  /** open opens (creating if needed) the database file, or an in-memory one for ':memory:'. */
  constructor(path: string) {
    this.#db = new DatabaseSync(path);
    this.#db.exec('PRAGMA journal_mode = WAL');
    this.#db.exec('PRAGMA synchronous = NORMAL');
    this.#db.exec('PRAGMA foreign_keys = ON');
    // Another process (the admin CLI) may write while the server runs.
    this.#db.exec('PRAGMA busy_timeout = 5000');
    this.#direct = {
      all: async <T>(sql: string, params: readonly SqlValue[] = []) =>
        this.#db.prepare(sql).all(...(params as SQLInputValue[])) as T[],
      get: async <T>(sql: string, params: readonly SqlValue[] = []) =>
        this.#db.prepare(sql).get(...(params as SQLInputValue[])) as T | undefined,
      run: async (sql: string, params: readonly SqlValue[] = []) => {
        const result = this.#db.prepare(sql).run(...(params as SQLInputValue[]));
        return { changes: Number(result.changes) };
      },
    };
  }

  /** #exclusive runs `work` after everything queued before it. */
  #exclusive<T>(work: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(work);
    this.#queue = result.catch(() => undefined);
    return result;
  }

  all<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    return this.#exclusive(() => this.#direct.all<T>(sql, params));
  }

  get<T>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined> {
    return this.#exclusive(() => this.#direct.get<T>(sql, params));
  }

  run(sql: string, params?: readonly SqlValue[]): Promise<{ changes: number }> {
    return this.#exclusive(() => this.#direct.run(sql, params));
  }

  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.#exclusive(() => this.#atomically(() => work(this.#direct)));
  }

  async #atomically<T>(work: () => Promise<T>): Promise<T> {
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      const result = await work();
      this.#db.exec('COMMIT');
      return result;
    } catch (error) {
      this.#db.exec('ROLLBACK');
      throw error;
    }
  }

  async migrate(steps: readonly string[]): Promise<number> {
    const { user_version: current } = (await this.get<{ user_version: number }>('PRAGMA user_version'))!;
    if (current > steps.length) {
      throw newerSchemaError(current);
    }
    // Another process may have applied a step since: each is read again under the write lock.
    for (let version = current; version < steps.length; version++) {
      await this.#exclusive(() =>
        this.#atomically(async () => {
          const { user_version: now } = this.#db.prepare('PRAGMA user_version').get() as {
            user_version: number;
          };
          if (now !== version) return;
          this.#db.exec(steps[version]);
          this.#db.exec(`PRAGMA user_version = ${version + 1}`);
        }),
      );
    }
    return steps.length;
  }

  async sizeBytes(): Promise<number> {
    const row = await this.get<{ n: number }>(
      'SELECT page_count * page_size AS n FROM pragma_page_count(), pragma_page_size()',
    );
    return Number(row!.n);
  }

  async close(): Promise<void> {
    await this.#exclusive(async () => this.#db.close());
  }
}
