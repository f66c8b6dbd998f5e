//! Opening a database (Transactor.open): the index root read, the transactions of the log after it
//! replayed onto the db value on it, and what the transactor keeps from the read (transactor.ts).
//!
//!   root ──▶ db value at root.t ──log position root.logPosition … end──decode──▶ replay t > basis ──▶ db value at the newest t
//!
//! Both roles open alike; a leader's indexer indexes (background indexer, perhaps in a worker
//! thread) and it knows its idempotency keys; a follower's only reads the trees, and it keeps the
//! novelty itself (follower-novelty.ts).
//!
//! Invariants: the log is read from `firstPosition` (the root's log position, or 0) in order; a
//! transaction the root covers (t at or before the db value's basis; the first entry may hold
//! some) is skipped, the rest replayed in t order and handed to the novelty sink (a leader's
//! background indexer, a follower's novelty) with the first log position a root covering it would
//! leave to replay (its own entry's, unless it ends the entry). `firstTs[i]` is the first t of
//! position `firstPosition + i`. The commit-time floor is never below a commit time recorded in
//! the log nor the last :db/txInstant (at most the clock of its commit), so commit times go on
//! never going backwards along the log.
//!
//! `replayEntry` is the step of both: opening (each entry read) and a follower (each entry pushed
//! or read after opening, follower.ts).
import type { Db } from '../db/db.ts';
import { readDb } from '../db/durable-base.ts';
import { emptyDb } from '../db/empty-db.ts';
import { BackgroundIndexer } from '../indexer/background-indexer.ts';
import { bootstrapTransaction } from '../indexer/db-input.ts';
import { IndexedBase } from '../indexer/indexed-base.ts';
import { Indexer } from '../indexer/indexer.ts';
import type { Storage } from '../storage/protocol.ts';
import { dbOnBase, schemaOfBase } from '../tx/base-db.ts';
import { replay, type LoggedTransaction } from '../tx/replay.ts';
import { FollowerNovelty } from './follower-novelty.ts';
import { committedKeyOf, IdempotencyKeys, idempotencyLimitsOf, readKeysBefore, type CommittedKey } from './idempotency.ts';
import { decodeLogEntry, type LogEntryTransaction } from './log-record.ts';
import type { TransactorOptions } from './transactor-options.ts';

/**
 * Who is handed each transaction replayed, with the db value after it and the first log position a
 * root covering it would leave to replay: the background indexer (leader), a follower's novelty.
 */
export interface NoveltySink {
  added(db: Db, transaction: LoggedTransaction, logPosition: number): void;
}

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

/** An opened database: what its transactor is made of. */
export interface Opened extends LogReplayed {
  /** Null when indexing is off. */
  readonly indexer: Indexer | null;
  /** A leader's, when indexing is on. */
  readonly background: BackgroundIndexer | null;
  /** A leader's are read from the log; a follower's stay empty. */
  readonly keys: IdempotencyKeys;
  /** The log position the log was read from (the root's). */
  readonly firstPosition: number;
  /** The db value at the root's t, nothing replayed on it (the empty db value before the first root); null when indexing is off. */
  readonly onRoot: Db | null;
  /** A follower's novelty after the root; null on a leader. */
  readonly novelty: FollowerNovelty | null;
}

/** Opens database `log`: from its index root (if it has one) and the log after it, else by replaying the whole log. */
export async function openDatabase(storage: Storage, log: string, options: TransactorOptions): Promise<Opened> {
  const keys = new IdempotencyKeys(idempotencyLimitsOf(options));
  const indexing = options.indexing ?? {};
  const leads = (options.role ?? 'leader') === 'leader';
  // A follower reads the trees but never indexes: no background indexer, no index worker thread.
  // A leader's index runs and gc ask its write guard (the lease) too, before the root moves.
  const guard = options.writeGuard === undefined ? {} : { writeGuard: options.writeGuard };
  const indexer = indexing === false ? null : await Indexer.open(storage, log, leads ? { ...indexing, ...guard } : { ...indexing, worker: false });
  const background = indexer === null || indexing === false || !leads ? null : new BackgroundIndexer(indexer, indexing);
  const root = indexer?.root ?? null;
  let db = emptyDb();
  if (root !== null) {
    const base = new IndexedBase(indexer!, root);
    db = dbOnBase(base, await schemaOfBase(base), root);
  } else {
    background?.added(db, bootstrapTransaction(), 0);
  }
  const onRoot = indexer === null ? null : db;
  const firstPosition = root?.logPosition ?? 0;
  const novelty = leads ? null : new FollowerNovelty(indexer !== null);
  const replayed = await replayLog(storage, log, db, firstPosition, background ?? novelty);
  // Idempotency keys are a leader's concern: a follower that becomes the leader is opened again as one.
  if (leads) {
    const loadOlder = firstPosition === 0 ? null : (room: number) => readKeysBefore(storage, log, firstPosition, keys.limits, room, Date.now());
    keys.opened(replayed.keyed, loadOlder);
  }
  return { ...replayed, indexer, background, keys, firstPosition, onRoot, novelty };
}

/** Reads `log` from `firstPosition` and replays onto `db` what it does not cover. */
export async function replayLog(storage: Storage, log: string, db: Db, firstPosition: number, sink: NoveltySink | null): Promise<LogReplayed> {
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
    for (const logged of transactions) if (logged.idempotencyKey !== undefined) keyed.push(committedKeyOf(logged, entry.position));
    db = await replayEntry(db, transactions, entry.position, sink);
  }
  lastCommittedMs = Math.max(lastCommittedMs, db.state.lastTxInstantMs);
  return { db, position, firstTs, keyed, lastCommittedMs };
}

/**
 * Replays onto `db` the transactions of the log entry at `position` that it does not cover (the
 * root may cover the first part of the entry), handing each to `sink` as it goes.
 */
export async function replayEntry(db: Db, transactions: readonly LogEntryTransaction[], position: number, sink: NoveltySink | null): Promise<Db> {
  for (let i = 0; i < transactions.length; i++) {
    const logged = transactions[i]!;
    if (logged.t <= db.basisT) continue; // the root covers the first part of this entry
    const before = db;
    db = before.state.base === null ? replay(before, logged) : await readDb(before.state.base, () => replay(before, logged));
    sink?.added(db, logged, i === transactions.length - 1 ? position + 1 : position);
  }
  return db;
}

/** The transactions of log positions `from` to `until` (excluded), in t order. */
export async function* loggedIn(storage: Storage, log: string, from: number, until: number): AsyncGenerator<LoggedTransaction> {
  for await (const entry of storage.readLog(log, from, until)) yield* decodeLogEntry(entry.bytes, entry.position);
}
