//! Opening a database's log: the transactions after the index root replayed onto the db value on
//! it, and what the transactor keeps from the read (transactor.ts).
//!
//!   log position root.logPosition … end ──decode──▶ replay t > basis ──▶ db value at the newest t
//!
//! Invariants: the log is read from `firstPosition` (the root's log position, or 0) in order; a
//! transaction the root covers (t at or before the db value's basis; the first entry may hold
//! some) is skipped, the rest replayed in t order and handed to the background indexer with the
//! first log position a root covering it would leave to replay (its own entry's, unless it ends
//! the entry). `firstTs[i]` is the first t of position `firstPosition + i`. The commit-time floor
//! is never below a commit time recorded in the log nor the last :db/txInstant (at most the clock
//! of its commit), so commit times go on never going backwards along the log.
import type { Db } from '../db/db.ts';
import { readDb } from '../db/durable-base.ts';
import type { BackgroundIndexer } from '../indexer/background-indexer.ts';
import type { Storage } from '../storage/protocol.ts';
import { replay, type LoggedTransaction } from '../tx/replay.ts';
import { committedKeyOf, type CommittedKey } from './idempotency.ts';
import { decodeLogEntry } from './log-record.ts';

/** What opening read from the log. */
export interface LogReplayed {
  /** The db value after the last logged transaction. */
  readonly db: Db;
  /** The next log position to write. */
  readonly position: number;
  /** The first t held by each log position from `firstPosition` on. */
  readonly firstTs: number[];
  /** The keyed transactions read, in t order (those the root covers included). */
  readonly keyed: Array<[string, CommittedKey]>;
  /** A floor for the next commit time (a writer before this one may have had its clock ahead). */
  readonly lastCommittedMs: number;
}

/** Reads `log` from `firstPosition` and replays onto `db` what it does not cover. */
export async function replayLog(storage: Storage, log: string, db: Db, firstPosition: number, background: BackgroundIndexer | null): Promise<LogReplayed> {
  const firstTs: number[] = [];
  let position = firstPosition;
  const keyed: Array<[string, CommittedKey]> = [];
  // The last commit time recorded, and (below) the last :db/txInstant.
  let lastCommittedMs = 0;
  for await (const entry of storage.readLog(log, firstPosition)) {
    const transactions = decodeLogEntry(entry.bytes, entry.position);
    if (transactions.length > 0) firstTs.push(transactions[0]!.t);
    lastCommittedMs = Math.max(lastCommittedMs, transactions[0]?.committedMs ?? 0);
    position = entry.position + 1;
    for (let i = 0; i < transactions.length; i++) {
      const logged = transactions[i]!;
      if (logged.idempotencyKey !== undefined) keyed.push(committedKeyOf(logged, entry.position));
      if (logged.t <= db.basisT) continue; // the root covers the first part of this entry
      const before = db;
      db = before.state.base === null ? replay(before, logged) : await readDb(before.state.base, () => replay(before, logged));
      background?.added(db, logged, i === transactions.length - 1 ? position : entry.position);
    }
  }
  lastCommittedMs = Math.max(lastCommittedMs, db.state.lastTxInstantMs);
  return { db, position, firstTs, keyed, lastCommittedMs };
}

/** The transactions of log positions `from` to `until` (excluded), in t order. */
export async function* loggedIn(storage: Storage, log: string, from: number, until: number): AsyncGenerator<LoggedTransaction> {
  for await (const entry of storage.readLog(log, from, until)) yield* decodeLogEntry(entry.bytes, entry.position);
}
