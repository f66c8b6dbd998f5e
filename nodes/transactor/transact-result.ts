//! What `Transactor.transact` answers: the transaction's report, its t, and whether the call was a
//! retry of a committed idempotency key (idempotency.ts).
//!
//! Invariants: a fresh result is the report of the transaction this call wrote, read lazily (its
//! datoms and tempids are still made on first read); a duplicate result wrote nothing, and carries
//! the original's t, tempids and datoms as read back from its log entry, with db values filtered
//! to just before and at that t.
import type { Datom } from '../datom/datom.ts';
import type { Db, TxReport } from '../db/db.ts';

export interface TransactCallOptions {
  /**
   * Makes a retry safe: a second transaction with a key already committed (within the window,
   * see idempotency.ts) is not processed again; it is answered with the original's t, tempids
   * and datoms, and `duplicate: true`. 1 to 128 letters, digits, '.', '_', ':' or '-'.
   *
   * @example
   * const key = randomUUID();
   * const report = await transactor.transact(txData, { idempotencyKey: key });
   * // the response was lost: the same call again is answered with the same t
   * const again = await transactor.transact(txData, { idempotencyKey: key }); // again.duplicate === true
   */
  readonly idempotencyKey?: string;
}

/** What `transact` answers: the report, the transaction's t, and whether it was a retry of a committed key. */
export interface TransactResult extends TxReport {
  /** The transaction's t (dbAfter.basisT of a fresh transaction). */
  readonly t: number;
  /** True when the key was committed already: nothing was processed or written by this call. */
  readonly duplicate: boolean;
}

/** A fresh transaction's result: the report as it is (its datoms and tempids are still made on first read). */
export class FreshResult implements TransactResult {
  readonly duplicate = false;
  constructor(private readonly report: TxReport) {}
  get dbBefore(): Db {
    return this.report.dbBefore;
  }
  get dbAfter(): Db {
    return this.report.dbAfter;
  }
  get txData(): readonly Datom[] {
    return this.report.txData;
  }
  get tempids(): Readonly<Record<string, number>> {
    return this.report.tempids;
  }
  get t(): number {
    return this.report.dbAfter.basisT;
  }
}

/** The answer to a retry of the committed transaction `t`, on the db value `db` (at t or later). */
export function duplicateResult(db: Db, t: number, tempids: Readonly<Record<string, number>>, txData: readonly Datom[]): TransactResult {
  return { dbBefore: db.asOf(t - 1), dbAfter: db.asOf(t), txData, tempids, t, duplicate: true };
}
