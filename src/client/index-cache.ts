/**
 * IndexCache is this device's cache of one repository's index: which blob IDs exist, so
 * "which chunks are new?" is a local lookup instead of a round trip per batch, and the
 * sealed tree and snapshot blobs it has read or written, so an unchanged re-backup reads
 * its parent trees from disk. One SQLite file per repository,
 * `<cache folder>/<repository id>/index.sqlite`, its owner's only (docs/format.md, "The
 * device's index cache"). It holds blob IDs (keyed MACs) and blobs sealed exactly as
 * stored: no plaintext, no names.
 *
 * It is only a cache. It catches up with the repository through `blobsSince` (blobs added
 * since its cursor; a new generation, after gc, makes it start again from nothing); the
 * repository stays the authority at commit time. Deleted, damaged or of another format,
 * it is thrown away and rebuilt; a SQLite failure while in use turns it off for the rest
 * of the run (every lookup then says "unknown") and it is rebuilt the next time. Several
 * processes may use it at once: WAL, a busy timeout, and every page of the index applied
 * in one transaction only if the cursor it continues is still the stored one.
 */
import { chmodSync, closeSync, mkdirSync, openSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { parsePack } from '../core/pack.ts';
import type { IndexDelta } from '../store/types.ts';

/** FORMAT is the cache's `user_version`; a file of any other is rebuilt. */
const FORMAT = 1;
const FILE = 'index.sqlite';
/** A sealed tree or snapshot blob not used for this many days leaves the cache. */
const KEEP_DAYS = 30;
const DAY_MS = 86_400_000;
const BATCH = 50_000;

const SCHEMA = `
CREATE TABLE state (
  only INTEGER PRIMARY KEY CHECK (only = 0),
  generation TEXT NOT NULL,        -- the repository index's generation the rows belong to ('' = none yet)
  cursor INTEGER NOT NULL,         -- blobsSince cursor reached in that generation
  pruned_day INTEGER NOT NULL      -- day (since the epoch) sealed blobs were last pruned
);
INSERT INTO state VALUES (0, '', 0, 0);
CREATE TABLE blobs (id BLOB PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE sealed (
  id BLOB PRIMARY KEY,
  bytes BLOB NOT NULL,             -- the sealed blob exactly as stored in its pack
  used_day INTEGER NOT NULL
) WITHOUT ROWID;
`;

/**
 * cacheDir is where a device keeps its caches: `CUMULUS_CACHE_DIR` when set, else
 * `cache/` under `CUMULUS_CONFIG_DIR` (several devices on one machine), else
 * `$XDG_CACHE_HOME/cumulus` or `~/.cache/cumulus` — `~/Library/Caches/Cumulus` on macOS.
 */
export function cacheDir(env: NodeJS.ProcessEnv = process.env, platform = process.platform): string {
  if (env.CUMULUS_CACHE_DIR) return env.CUMULUS_CACHE_DIR;
  if (env.CUMULUS_CONFIG_DIR) return join(env.CUMULUS_CONFIG_DIR, 'cache');
  const home = env.HOME || homedir();
  if (platform === 'darwin') return join(home, 'Library', 'Caches', 'Cumulus');
  return join(env.XDG_CACHE_HOME || join(home, '.cache'), 'cumulus');
}

/** IndexSource is what the cache catches up from: a repository's blob index, page by page. */
export interface IndexSource {
  blobsSince(cursor: number): Promise<IndexDelta>;
}

/** SyncReport says what one catch-up cost. */
export interface SyncReport {
  /** Pages asked for (requests, through a server). */
  pages: number;
  /** Blob IDs received. */
  ids: number;
  /** The cache started again from nothing: first use, or the repository removed blobs. */
  restarted: boolean;
}

function isSqliteError(error: unknown): boolean {
  return (error as { code?: string } | null)?.code === 'ERR_SQLITE_ERROR';
}

/** A damaged file (SQLITE_CORRUPT, SQLITE_NOTADB) is removed; any other failure only turns the cache off. */
function isDamage(error: unknown): boolean {
  const code = (error as { errcode?: number } | null)?.errcode;
  return code === 11 || code === 26;
}

/** OtherFormat is a cache file written by another version of Cumulus: rebuilt, never misread. */
class OtherFormat extends Error {}

const bin = (id: string) => Buffer.from(id, 'hex');

export class IndexCache {
  readonly path: string;
  #db: DatabaseSync | undefined;
  readonly #today: number;
  /** Sealed blobs read this run, to mark as used when the cache closes. */
  readonly #used = new Set<string>();

  private constructor(path: string, db: DatabaseSync, now: number) {
    this.path = path;
    this.#db = db;
    this.#today = Math.floor(now / DAY_MS);
  }

  /**
   * open opens (creating, or rebuilding when damaged or of another format) the cache of
   * repository `repositoryId` under `dir`: folder 0700, files 0600.
   */
  static open(dir: string, repositoryId: string, now = Date.now()): IndexCache {
    if (!/^[0-9a-f]{8,64}$/.test(repositoryId)) throw new Error(`not a repository ID: ${repositoryId}`);
    const folder = join(dir, repositoryId);
    mkdirSync(folder, { recursive: true, mode: 0o700 });
    chmodSync(folder, 0o700);
    const path = join(folder, FILE);
    try {
      return new IndexCache(path, openDatabase(path), now);
    } catch (error) {
      if (!isSqliteError(error) && !(error instanceof OtherFormat)) throw error;
      removeDatabase(path);
      return new IndexCache(path, openDatabase(path), now);
    }
  }

  /** #use runs a statement batch, or turns the cache off (undefined) when SQLite fails. */
  #use<T>(fn: (db: DatabaseSync) => T): T | undefined {
    const db = this.#db;
    if (db === undefined) return undefined;
    try {
      return fn(db);
    } catch (error) {
      if (!isSqliteError(error)) throw error;
      this.#turnOff(isDamage(error));
      return undefined;
    }
  }

  #turnOff(damaged: boolean): void {
    try {
      this.#db?.close();
    } catch {}
    this.#db = undefined;
    if (damaged) removeDatabase(this.path);
  }

  /** usable is false once the cache turned itself off for this run. */
  get usable(): boolean {
    return this.#db !== undefined;
  }

  /**
   * sync catches up with the repository: it asks for the blobs added since its cursor,
   * page by page, until the answer is complete. A page of a generation other than the
   * stored one empties the cache first and starts again from 0. Another process syncing
   * at the same time only makes some pages redundant.
   */
  async sync(source: IndexSource): Promise<SyncReport> {
    const report: SyncReport = { pages: 0, ids: 0, restarted: false };
    for (;;) {
      const state = this.#state();
      if (state === undefined) return report;
      const page = await source.blobsSince(state.cursor);
      report.pages++;
      if (page.generation !== state.generation) {
        report.restarted = true;
        this.#restart(state, page.generation);
        // A page from the start holds for the new generation too: no need to ask again.
        if (state.cursor !== 0) continue;
      }
      report.ids += page.ids.length;
      this.#apply(page.generation === state.generation ? state.cursor : 0, page);
      if (page.complete) return report;
    }
  }

  #state(): { generation: string; cursor: number } | undefined {
    return this.#use(
      (db) =>
        db.prepare('SELECT generation, cursor FROM state').get() as { generation: string; cursor: number },
    );
  }

  /** #restart empties the index rows for a new generation, unless another process just did. */
  #restart(seen: { generation: string; cursor: number }, generation: string): void {
    this.#write((db) => {
      const now = db.prepare('SELECT generation, cursor FROM state').get() as typeof seen;
      if (now.generation !== seen.generation || now.cursor !== seen.cursor) return;
      db.exec('DELETE FROM blobs');
      db.prepare('UPDATE state SET generation = ?, cursor = 0').run(generation);
    });
  }

  /** #apply stores one page if the stored state is still the one it continues. */
  #apply(from: number, page: IndexDelta): void {
    this.#write((db) => {
      const now = db.prepare('SELECT generation, cursor FROM state').get() as {
        generation: string;
        cursor: number;
      };
      if (now.generation !== page.generation || now.cursor !== from) return;
      insertIds(db, page.ids);
      db.prepare('UPDATE state SET cursor = ?').run(page.cursor);
    });
  }

  #write(fn: (db: DatabaseSync) => void): void {
    this.#use((db) => {
      db.exec('BEGIN IMMEDIATE');
      try {
        fn(db);
        db.exec('COMMIT');
      } catch (error) {
        db.exec('ROLLBACK');
        throw error;
      }
    });
  }

  /** missing returns the IDs the cache does not know, or undefined when it is off. */
  missing(ids: readonly string[]): Set<string> | undefined {
    return this.#use((db) => {
      const present = db.prepare(
        'SELECT hex(id) AS id FROM blobs WHERE id IN (SELECT unhex(value) FROM json_each(?))',
      );
      const known = new Set<string>();
      for (let i = 0; i < ids.length; i += BATCH) {
        for (const row of present.all(JSON.stringify(ids.slice(i, i + BATCH))) as { id: string }[])
          known.add(row.id.toLowerCase());
      }
      return new Set(ids.filter((id) => !known.has(id)));
    });
  }

  /**
   * addPack records the blobs of a pack the repository has just stored durably, and keeps
   * a copy of its tree and snapshot blobs (sealed, as stored).
   */
  addPack(pack: Uint8Array): void {
    const entries = parsePack(pack);
    this.#write((db) => {
      insertIds(
        db,
        entries.map((e) => e.id),
      );
      const put = db.prepare('INSERT OR REPLACE INTO sealed (id, bytes, used_day) VALUES (?, ?, ?)');
      for (const e of entries) {
        if (e.type !== 'data') put.run(bin(e.id), pack.subarray(e.offset, e.offset + e.length), this.#today);
      }
    });
  }

  /**
   * forget drops blobs the repository said it does not hold; with `all`, the cache also
   * starts again from nothing at its next sync (the repository named only some of them).
   */
  forget(ids: readonly string[], all: boolean): void {
    this.#write((db) => {
      const drop = db.prepare('DELETE FROM blobs WHERE id IN (SELECT unhex(value) FROM json_each(?))');
      for (let i = 0; i < ids.length; i += BATCH) drop.run(JSON.stringify(ids.slice(i, i + BATCH)));
      if (all) db.exec("UPDATE state SET generation = '', cursor = 0");
    });
  }

  /** sealed returns a cached tree or snapshot blob as stored, or undefined. */
  sealed(id: string): Buffer | undefined {
    const row = this.#use(
      (db) =>
        db.prepare('SELECT bytes FROM sealed WHERE id = ?').get(bin(id)) as { bytes: Uint8Array } | undefined,
    );
    if (row === undefined) return undefined;
    this.#used.add(id);
    return Buffer.from(row.bytes.buffer, row.bytes.byteOffset, row.bytes.byteLength);
  }

  /** keepSealed stores a tree or snapshot blob read from the repository. */
  keepSealed(blobs: Iterable<[string, Uint8Array]>): void {
    this.#write((db) => {
      const put = db.prepare('INSERT OR REPLACE INTO sealed (id, bytes, used_day) VALUES (?, ?, ?)');
      for (const [id, bytes] of blobs) put.run(bin(id), bytes, this.#today);
    });
  }

  /** dropSealed removes a cached blob that failed to open (damaged on disk). */
  dropSealed(id: string): void {
    this.#used.delete(id);
    this.#write((db) => db.prepare('DELETE FROM sealed WHERE id = ?').run(bin(id)));
  }

  /**
   * close marks the sealed blobs read this run as used today, drops (once a day) those
   * unused for KEEP_DAYS, and closes the file.
   */
  close(): void {
    this.#write((db) => {
      const used = [...this.#used];
      const mark = db.prepare(
        'UPDATE sealed SET used_day = ? WHERE id IN (SELECT unhex(value) FROM json_each(?))',
      );
      for (let i = 0; i < used.length; i += BATCH)
        mark.run(this.#today, JSON.stringify(used.slice(i, i + BATCH)));
      const { pruned_day: pruned } = db.prepare('SELECT pruned_day FROM state').get() as {
        pruned_day: number;
      };
      if (pruned < this.#today) {
        db.prepare('DELETE FROM sealed WHERE used_day < ?').run(this.#today - KEEP_DAYS);
        db.prepare('UPDATE state SET pruned_day = ?').run(this.#today);
      }
    });
    this.#used.clear();
    this.#db?.close();
    this.#db = undefined;
  }
}

function insertIds(db: DatabaseSync, ids: readonly string[]): void {
  const insert = db.prepare('INSERT OR IGNORE INTO blobs (id) SELECT unhex(value) FROM json_each(?)');
  for (let i = 0; i < ids.length; i += BATCH) insert.run(JSON.stringify(ids.slice(i, i + BATCH)));
}

/** openDatabase opens the cache file (created 0600), checking its format; a wrong one is a SQLite error. */
function openDatabase(path: string): DatabaseSync {
  closeSync(openSync(path, 'a', 0o600));
  chmodSync(path, 0o600);
  const db = new DatabaseSync(path, { timeout: 30_000 });
  try {
    // NORMAL: a cache may lose its last transactions in a power cut; it is rebuilt, not trusted.
    db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL');
    db.exec('BEGIN IMMEDIATE');
    try {
      const { user_version: version } = db.prepare('PRAGMA user_version').get() as { user_version: number };
      if (version === 0) {
        db.exec(SCHEMA);
        db.exec(`PRAGMA user_version = ${FORMAT}`);
      } else if (version !== FORMAT) {
        throw new OtherFormat(`index cache format ${version}`);
      }
      db.prepare('SELECT generation, cursor, pruned_day FROM state').get();
      db.exec('COMMIT');
    } catch (error) {
      if (db.isTransaction) db.exec('ROLLBACK');
      throw error;
    }
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

function removeDatabase(path: string): void {
  for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
}
