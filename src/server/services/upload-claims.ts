/**
 * UploadClaims holds the quota that uploads in progress have claimed, in the server
 * database, so replicas sharing it see each other's uploads before their packs land.
 *
 * A claim is made in one server-database transaction (on PostgreSQL the claims of an
 * account are serialised by that account's advisory lock, so they have one order across
 * replicas): it sweeps expired claims, adds up the account's live claims made before it
 * (`ahead`) and inserts its own. The
 * caller then reads the bytes the account stores (its own store, another connection, so
 * not inside that transaction: a transaction waiting there for a second pool connection
 * while others hold the pool waiting for the lock could wait forever) and admits the
 * upload only if stored + ahead + its bytes fit. That is exact: of two claims the later
 * one always counts the earlier, in `ahead` if it was still live, or in the stored bytes
 * (read after the claim) if its pack had landed and its claim was released, since a claim
 * is released only after its pack is stored. It errs only towards refusing: a pack that
 * landed before its claim was released, or a claim refused after the later one counted
 * it, is counted twice for that moment.
 *
 * Claims expire after CLAIM_MS, so a replica killed mid-upload holds its claims that long
 * at most. The body is in memory before the claim is made, so only storing the pack must
 * finish within it.
 */
import type { Clock } from '../clock.ts';
import type { Database } from '../db/database.ts';
import { newId } from './credentials.ts';

/** How long a claim counts unless released; longer than storing any pack takes. */
export const CLAIM_MS = 10 * 60_000;

/** Claim is one upload's claimed bytes, and the bytes claimed for the account before it. */
export interface Claim {
  id: string;
  ahead: number;
}

export class UploadClaims {
  readonly #db: Database;
  readonly #clock: Clock;

  constructor(db: Database, clock: Clock) {
    this.#db = db;
    this.#clock = clock;
  }

  /** claim records `bytes` claimed for the account and returns the live claims made before it. */
  claim(accountId: string, bytes: number): Promise<Claim> {
    const now = this.#clock.now();
    const id = newId();
    // Only claims of the same account need one order: uploads of other accounts do not wait.
    // (The sweep deletes expired claims of any account; whoever deletes one first, it is gone.)
    return this.#db.transaction(
      async (tx) => {
        await tx.run('DELETE FROM upload_claims WHERE expires_at <= ?', [now]);
        const row = await tx.get<{ ahead: number | null }>(
          'SELECT sum(bytes) AS ahead FROM upload_claims WHERE account_id = ?',
          [accountId],
        );
        await tx.run('INSERT INTO upload_claims (id, account_id, bytes, expires_at) VALUES (?, ?, ?, ?)', [
          id,
          accountId,
          bytes,
          now + CLAIM_MS,
        ]);
        return { id, ahead: Number(row?.ahead ?? 0) };
      },
      { scope: `upload-claims:${accountId}` },
    );
  }

  /** release ends a claim: its upload was stored, or refused, or failed. */
  async release(claim: Claim): Promise<void> {
    await this.#db.run('DELETE FROM upload_claims WHERE id = ?', [claim.id]);
  }
}
