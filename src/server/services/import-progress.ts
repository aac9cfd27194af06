/**
 * ImportProgress is `cumulus server migrate`'s record in the PostgreSQL database it fills
 * (table `embedded_import`): the server database copied, each account's index copied with
 * a fingerprint of its source, and, once every account verified, `complete`. A server
 * refuses to start on a database whose migration is unfinished: accounts not copied yet
 * would look empty, and a later run of the migration would replace what it wrote since.
 */
import { CumulusError } from '../../core/errors.ts';
import type { Database, SqlExecutor } from '../db/database.ts';

const COMPLETE = 'complete';

export class ImportProgress {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  async open(): Promise<void> {
    await this.#db.run(
      'CREATE TABLE IF NOT EXISTS embedded_import (item TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, done_at BIGINT NOT NULL)',
    );
  }

  async get(item: string): Promise<string | undefined> {
    const row = await this.#db.get<{ fingerprint: string }>(
      'SELECT fingerprint FROM embedded_import WHERE item = ?',
      [item],
    );
    return row?.fingerprint;
  }

  async set(item: string, fingerprint: string, tx: SqlExecutor = this.#db): Promise<void> {
    await tx.run(
      `INSERT INTO embedded_import (item, fingerprint, done_at) VALUES (?, ?, ?)
        ON CONFLICT (item) DO UPDATE SET fingerprint = excluded.fingerprint, done_at = excluded.done_at`,
      [item, fingerprint, Date.now()],
    );
  }

  async complete(): Promise<boolean> {
    return (await this.get(COMPLETE)) !== undefined;
  }

  async markComplete(): Promise<void> {
    await this.set(COMPLETE, 'verified');
  }
}

/** refuseUnfinishedImport throws when a migration into this database began and did not complete. */
export async function refuseUnfinishedImport(db: Database): Promise<void> {
  if (db.kind !== 'postgres') return;
  const started = await db.get<{ name: string | null }>("SELECT to_regclass('embedded_import') AS name");
  if (started?.name === null || started === undefined) return;
  if (await new ImportProgress(db).complete()) return;
  throw new CumulusError('conflict', 'a migration from an embedded server into this database is unfinished', {
    hint: 'run the same `cumulus server migrate` again until it verifies every account, then start the server',
  });
}
