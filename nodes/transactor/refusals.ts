//! Why the transactor refuses a transaction: the errors it answers with, each with its stable
//! code (util/errors.ts) and a message saying what happened and what to do.
//!
//!   client/closed     the connection was closed (before or while the transaction waited)
//!   storage/conflict  another writer took a log position or moved the index root: fenced for good
//!   storage/busy      indexing is behind (novelty at backPressureBytes): retry shortly
//!
//! Invariants: none of these is answered for a transaction that was written; a refused
//! transaction left nothing in the log.
import type { BackgroundIndexer } from '../indexer/background-indexer.ts';
import { FactumError } from '../util/errors.ts';

/** A transaction queued when the connection was closed. */
export function closedBeforeWritten(): FactumError {
  return new FactumError('client/closed', 'The connection was closed before this transaction was written.', {});
}

/** A transaction submitted after the connection was closed. */
export function closedConnection(): FactumError {
  return new FactumError('client/closed', 'This connection is closed; connect again to transact.', {});
}

/** Another writer appended at `position`, the one this transactor was writing. */
export function fencedByAppend(position: number): FactumError {
  return new FactumError('storage/conflict', `Another writer appended to this database's log at position ${position}; this connection can no longer transact. Reconnect to continue.`, { position });
}

/** Another process moved the index root of `database`: it is writing the database too. */
export function fencedByIndexRun(database: string): FactumError {
  return new FactumError('storage/conflict', `Another process has indexed database ${database} since this connection did; this connection can no longer transact. Reconnect to continue.`, { database });
}

/** Novelty has reached the back-pressure limit of `background`. */
export function indexingBehind(background: BackgroundIndexer): FactumError {
  const mib = (n: number) => (n < 1048576 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1048576).toFixed(1)} MiB`);
  const cause = background.lastError === null ? '' : ` The last index run failed: ${String((background.lastError as Error).message ?? background.lastError)}.`;
  return new FactumError('storage/busy', `Indexing is behind: ${mib(background.noveltyBytes)} of transactions wait to be indexed (limit ${mib(background.backPressureBytes)}). Retry the transaction shortly; nothing of it was written.${cause}`, {
    noveltyBytes: background.noveltyBytes,
    backPressureBytes: background.backPressureBytes,
  });
}
