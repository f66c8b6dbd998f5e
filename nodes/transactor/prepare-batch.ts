//! A group-commit batch processed in memory, before its log entry is written (transactor.ts).
//!
//!   queued transactions ──prepareBatch(db)──▶ accepted (reports) + refused (errors) ──encodeBatch──▶ log entry
//!
//! Invariants: preparing answers no one — the writer answers a batch only once the db value its
//! transactions met is durable; each accepted transaction is processed against the db value the
//! one before it made, starting from the given one; a refused one leaves the db value as it was.
//! An entry carries each idempotency key at most once, and never one committed already.
import type { Db, TxReport } from '../db/db.ts';
import { readDb } from '../db/durable-base.ts';
import { AssertionError } from '../util/assert.ts';
import { encodeLogEntry, type LogEntryTransaction } from './log-record.ts';

/** A submitted transaction waiting in the writer's queue. */
export interface Pending {
  readonly txData: unknown;
  /** Its idempotency key, null when it has none. */
  readonly key: string | null;
  readonly resolve: (report: TxReport) => void;
  readonly reject: (error: unknown) => void;
}

/** A batch processed against a db value, not yet answered: what its log entry will hold. */
export interface Prepared {
  readonly batch: readonly Pending[];
  /** The transactions it refused, with why (answered once the db value they met is durable). */
  readonly refused: ReadonlyArray<{ readonly pending: Pending; readonly error: unknown }>;
  readonly accepted: ReadonlyArray<{ readonly pending: Pending; readonly report: TxReport }>;
  /** The db value after the accepted transactions. */
  readonly db: Db;
}

/**
 * Processes a batch against `db`, answering no one yet (the writer does). `expand`, when given,
 * rewrites each transaction's tx-data against its own db-before first (ion calls).
 */
export async function prepareBatch(batch: readonly Pending[], db: Db, expand?: (db: Db, txData: unknown) => Promise<unknown>): Promise<Prepared> {
  const accepted: Array<{ pending: Pending; report: TxReport }> = [];
  const refused: Array<{ pending: Pending; error: unknown }> = [];
  for (const pending of batch) {
    try {
      const before = db;
      const txData = expand === undefined ? pending.txData : await expand(before, pending.txData);
      const report = before.state.base === null ? before.with(txData) : await readDb(before.state.base, () => before.with(txData));
      accepted.push({ pending, report });
      db = report.dbAfter;
    } catch (error) {
      refused.push({ pending, error });
    }
  }
  return { batch, refused, accepted, db };
}

/**
 * The log entry of a prepared batch's accepted transactions, committed at `committedMs`; a keyed
 * transaction carries its key and tempids. `isCommitted` tells a key committed already (a bug).
 */
export function encodeBatch(accepted: Prepared['accepted'], committedMs: number, isCommitted: (key: string) => boolean): Uint8Array {
  return encodeLogEntry(
    accepted.map(({ pending, report }): LogEntryTransaction => {
      const logged = {
        t: report.dbAfter.basisT,
        datoms: report.txData,
        nextUserN: report.dbAfter.state.nextUserN,
        nextDbN: report.dbAfter.state.nextDbN,
      };
      if (pending.key === null) return logged;
      // One submission per key is ever queued (transactOnce): a key here is neither committed nor in this entry twice.
      if (isCommitted(pending.key)) throw new AssertionError(`idempotency key ${pending.key} is committed already and queued again`);
      return { ...logged, idempotencyKey: pending.key, tempids: report.tempids };
    }),
    committedMs,
  );
}
