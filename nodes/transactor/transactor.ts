//! The transactor of one database: processes transactions strictly one after another, appends
//! them to the log, and publishes the new db value only once the log write is durable.
//!
//! Group commit: while one log write is in flight, new transactions queue; the next write carries
//! all of them in one log entry (one fsync locally, one conditional put on DynamoDB). Each is
//! processed against the db value its predecessor produced, and each submitter is answered only
//! after the entry holding its transaction is durable.
//!
//!   submit ──▶ queue ──▶ [process t, t+1, t+2 in memory] ──▶ appendLog(position) ──▶ acknowledge
//!
//! Pipelined: while one entry is being written, the transactions queued when it started are
//! processed as the next batch against the db value the entry in flight makes, so the writer
//! does not sit idle through the write. Nothing of that
//! batch is answered (not even a transaction it refused) until the entry before it is durable;
//! if that entry is not written, the batch goes back to the head of the queue and is processed
//! again against the db value that is.
//!
//! The position condition is the fence: if another writer took the position, nothing of this
//! batch is acknowledged and this transactor stops accepting writes.
//!
//! Durable indexes (nodes/indexer): every durable transaction is handed to a background indexer;
//! when its novelty passes a threshold, it merges novelty into the durable trees and moves the
//! root. The transactor then rebases: its db value becomes one on the new root, with the
//! transactions after the root replayed as novelty, so memory holds only unindexed novelty.
//! Opening reads the root and replays only the log after it. If indexing falls behind so far
//! that novelty reaches `backPressureBytes`, transactions are refused with `storage/busy`
//! (retryable) until it catches up.
//!
//! Idempotency keys (idempotency.ts): a transaction submitted with a key is logged with it; a
//! second submission of a committed key is answered from the log without being processed.
//!
//! Past db values (db-at.ts): `dbAt(t)` rebuilds the db value made at t from the index root the
//! db value is on, for a basis the node no longer keeps.
//!
//! Roles (issue 17): the node holding a database's transactor lease opens it as the leader (all
//! of the above); every other node opens it as a follower (follower.ts), a read-only copy fed by
//! the entries the leader announces (onCommitted) and by the log, moving onto each root the
//! leader writes (onRootMoved, refreshRoot). A follower refuses transact, indexNow and gcStorage
//! with `cluster/not-leader`. A leader's `writeGuard` is asked before each log write (the lease).
//!
//! Beside it: opening's log read (replay-log.ts), a batch processed in memory and its log entry
//! (prepare-batch.ts), an append whose failure is ambiguous (written-despite.ts), what `transact`
//! answers (transact-result.ts), who waits in `sync` (sync-waiters.ts), the follower (follower.ts,
//! follower-novelty.ts) and the leader's events (follower-feed.ts).
import type { Db } from '../db/db.ts';
import type { Storage } from '../storage/protocol.ts';
import { FactumError } from '../util/errors.ts';
import { AssertionError } from '../util/assert.ts';
import { replay, type LoggedTransaction } from '../tx/replay.ts';
import { readDb } from '../db/durable-base.ts';
import { dbOnBase } from '../tx/base-db.ts';
import '../tx/transact.ts';
import type { Indexer } from '../indexer/indexer.ts';
import type { BackgroundIndexer } from '../indexer/background-indexer.ts';
import { IndexedBase } from '../indexer/indexed-base.ts';
import type { IndexRoot } from '../indexer/root.ts';
import type { TransactorOptions } from './transactor-options.ts';
import { PastDbValues } from './db-at.ts';
import { checkIdempotencyKey, readCommitted, type CommittedKey, type IdempotencyKeys } from './idempotency.ts';
import { writtenDespite } from './written-despite.ts';
import { closedBeforeWritten, closedConnection, fencedByAppend, fencedByIndexRun, indexingBehind } from './refusals.ts';
import { encodeBatch, prepareBatch, type Pending, type Prepared } from './prepare-batch.ts';
import { loggedIn, openDatabase, type Opened } from './replay-log.ts';
import { SyncWaiters, syncAborted } from './sync-waiters.ts';
import { positionOfT, txRangeIn, type TxRangeEntry } from './tx-range.ts';
import { duplicateResult, FreshResult, type TransactCallOptions, type TransactResult } from './transact-result.ts';
import { Follower, notLeader } from './follower.ts';
import { Listeners } from './follower-feed.ts';

export type { TransactCallOptions, TransactResult } from './transact-result.ts';
export type { TxRangeEntry } from './tx-range.ts';
export type { IndexingOptions, TransactorOptions } from './transactor-options.ts';

/** Transactions per log entry at most, to bound entry size. */
const BATCH_MAX = 256;

export class Transactor {
  private current: Db;
  private position: number;
  /** The log position of `firstTs[0]`: entries before it (covered by the index root) were not read. */
  private readonly firstPosition: number;
  /** The first t held by each log position from `firstPosition` on, for txRange. */
  private readonly firstTs: number[];
  private readonly queue: Pending[] = [];
  private writing = false;
  private fenced: FactumError | null = null;
  private closed = false;
  private rebaseTo: { root: IndexRoot; indexed: Db } | null = null;
  /** Who waits in `sync` for a basis not reached yet; one leaves when reached, closed or aborted. */
  private readonly syncWaiters: SyncWaiters;
  /** The clock recorded in the last log entry written (commit times never go backwards along the log). */
  private lastCommittedMs: number;
  /**
   * The db value at the t of the index root `current` is on, nothing replayed on it (dbAt starts
   * there); the empty db value before the first root; null when indexing is off. Moves with `current`.
   */
  private onRoot: Db | null;
  private readonly pastDbs = new PastDbValues();
  private readonly indexer: Indexer | null;
  private readonly background: BackgroundIndexer | null;
  private readonly keys: IdempotencyKeys;
  private readonly writeGuard: (() => FactumError | null) | null;
  private readonly expandTxData: TransactorOptions['expandTxData'];
  /** Null on a leader. */
  private readonly follower: Follower | null;
  private readonly committed = new Listeners<[position: number, bytes: Uint8Array, basisT: number]>('onCommitted');
  private readonly rootMoved = new Listeners<[rootT: number]>('onRootMoved');

  private constructor(
    private readonly storage: Storage,
    private readonly log: string,
    opened: Opened,
    options: TransactorOptions,
  ) {
    this.current = opened.db;
    this.syncWaiters = new SyncWaiters(log, () => this.current);
    this.lastCommittedMs = opened.lastCommittedMs;
    this.position = opened.position;
    this.firstTs = opened.firstTs;
    this.indexer = opened.indexer;
    this.background = opened.background;
    this.keys = opened.keys;
    this.firstPosition = opened.firstPosition;
    this.onRoot = opened.onRoot;
    this.writeGuard = options.writeGuard ?? null;
    this.expandTxData = options.expandTxData;
    this.background?.onIndexed((root, indexed) => {
      this.rebaseTo = { root, indexed };
      this.kick();
    });
    this.follower = opened.novelty === null ? null : new Follower(storage, log, this.indexer, opened.novelty, {
      current: () => this.current,
      position: () => this.position,
      onRoot: () => this.onRoot,
      closed: () => this.closed,
      applied: (db, firstT) => {
        this.advance(db, firstT);
        this.syncWaiters.wake();
      },
      rebased: (db, onRoot) => {
        this.current = db;
        this.onRoot = onRoot;
      },
    });
  }

  /**
   * Opens a database: from its index root (if it has one) and the log after it, else by
   * replaying the whole log.
   */
  static async open(storage: Storage, log: string, options: TransactorOptions = {}): Promise<Transactor> {
    return new Transactor(storage, log, await openDatabase(storage, log, options), options);
  }

  /** 'leader': this node writes the database; 'follower': a read-only copy (follower.ts). */
  get role(): 'leader' | 'follower' {
    return this.follower === null ? 'leader' : 'follower';
  }

  /** The name of the database's log (`db-<id>`). */
  get logName(): string {
    return this.log;
  }

  /** The next log position: the entries before it are in the db value. */
  get nextPosition(): number {
    return this.position;
  }

  /** The durable indexer of this database (null when indexing is off). */
  get indexing(): { readonly indexer: Indexer; readonly background: BackgroundIndexer } | null {
    return this.indexer === null || this.background === null ? null : { indexer: this.indexer, background: this.background };
  }

  db(): Db {
    return this.current;
  }

  /**
   * Processes a transaction and resolves once it is durable. With an idempotency key, a key
   * already committed is answered with the original transaction instead (see TransactCallOptions).
   */
  transact(txData: unknown, options?: TransactCallOptions): Promise<TransactResult> {
    if (this.follower !== null) return Promise.reject(notLeader(this.log));
    let key: string | undefined;
    try {
      key = checkIdempotencyKey(options);
    } catch (error) {
      return Promise.reject(error);
    }
    const stopped = this.stopped();
    if (stopped !== null) return Promise.reject(stopped);
    if (key !== undefined) return this.transactOnce(txData, key);
    const busy = this.busy();
    if (busy !== null) return Promise.reject(busy);
    return this.enqueue(txData, null);
  }

  /**
   * A keyed transaction: answered from the log when its key is committed, after the original when
   * that is queued or being written, else queued. Each check and the queueing that follows it run
   * in one synchronous step, so no other submission of the key comes between (and, when the keys
   * are known, a keyed transaction is queued in the order it was submitted, like any other).
   */
  private transactOnce(txData: unknown, key: string): Promise<TransactResult> {
    const ready = this.keys.ready();
    if (ready !== null) return ready.then(() => this.transactOnce(txData, key));
    const stopped = this.stopped();
    if (stopped !== null) return Promise.reject(stopped);
    const committed = this.keys.find(key);
    if (committed !== undefined) return this.duplicateOf(key, committed);
    const pending = this.keys.pending(key);
    if (pending !== undefined) {
      // The original was refused or not written (null): nothing of it is in the log, so this one
      // is processed afresh (or waits for another submission of the key that came first).
      return pending.then((report) => (report === null ? this.transactOnce(txData, key) : duplicateResult(this.current, report.dbAfter.basisT, report.tempids, report.txData)));
    }
    const busy = this.busy();
    if (busy !== null) return Promise.reject(busy);
    return this.enqueue(txData, key);
  }

  private enqueue(txData: unknown, key: string | null): Promise<TransactResult> {
    if (key !== null) this.keys.begin(key);
    return new Promise((resolve, reject) => {
      this.queue.push({
        txData,
        key,
        resolve: (report) => resolve(new FreshResult(report)),
        reject: (error) => {
          if (key !== null) this.keys.abandon(key);
          reject(error);
        },
      });
      this.kick();
    });
  }

  /** The answer to a retry of a committed key, read back from its log entry. */
  private async duplicateOf(key: string, committed: CommittedKey): Promise<TransactResult> {
    const logged = await readCommitted(this.storage, this.log, key, committed);
    return duplicateResult(this.current, committed.t, logged.tempids!, logged.datoms);
  }

  /** Why no transaction can be taken now (closed or fenced), or null. */
  private stopped(): FactumError | null {
    if (this.closed) return closedConnection();
    if (this.fenced !== null) return this.fenced;
    const background = this.background;
    if (background !== null && background.lostRoot) {
      // Another process moved this database's index root: it is writing the database too, and
      // this connection's view of it is stale.
      this.fenced = fencedByIndexRun(this.log);
      return this.fenced;
    }
    return null;
  }

  /** Why a new transaction is refused for now (indexing is behind), or null. */
  private busy(): FactumError | null {
    const background = this.background;
    if (background === null || !background.isOverloaded) return null;
    background.resume(); // retries a failed run: refusing adds no novelty that would
    return indexingBehind(background);
  }

  /**
   * Indexes every transaction not yet indexed and moves the db value onto the new root (for
   * tools, tests and benchmarks: indexing otherwise starts by itself). Throws the run's error if
   * it failed.
   */
  async indexNow(): Promise<void> {
    if (this.follower !== null) throw notLeader(this.log);
    const background = this.background;
    if (background === null) return;
    await background.flush();
    if (background.lastError !== null) throw background.lastError;
    while (this.writing || this.rebaseTo !== null) {
      this.kick();
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /**
   * Collects segments no root retired at or after `olderThan` reaches (Indexer.gcStorage). The
   * cutoff is never later than now, nor than the retirement of the root under this transactor's
   * db value (a rebase onto a newer root may be pending), so the db values this transactor hands
   * out stay readable.
   */
  async gcStorage(olderThan: Date): Promise<{ deleted: number; kept: number }> {
    if (this.follower !== null) throw notLeader(this.log);
    const indexer = this.indexer;
    if (indexer === null) return { deleted: 0, kept: 0 };
    const cutoffMs = this.pastDbs.retentionCutoffMs(Math.min(olderThan.getTime(), Date.now()), indexer.root, this.current);
    return indexer.gcStorage(new Date(cutoffMs));
  }

  /** Starts the writer loop if it is not running. */
  private kick(): void {
    if (!this.writing && !this.closed) {
      this.writing = true;
      void this.flush();
    }
  }

  /**
   * Resolves with a db value whose basis is at least `t`. An aborted `signal` rejects it at once
   * and stops the wait: with the signal's reason when that is an Error (AbortSignal.timeout gives
   * a TimeoutError), else with `db/basis-not-reached`. A caller that stops waiting (a timeout)
   * must abort, or its wait is kept until `t` is reached.
   *
   * @example
   * const db = await transactor.sync(t, { signal: AbortSignal.timeout(10_000) });
   */
  sync(t?: number, options?: { readonly signal?: AbortSignal }): Promise<Db> {
    const signal = options?.signal;
    if (signal?.aborted === true) return Promise.reject(syncAborted(signal, this.log, t, this.current.basisT));
    if (t === undefined || this.current.basisT >= t) return Promise.resolve(this.current);
    if (this.closed) return Promise.reject(new FactumError('client/closed', 'This connection is closed.', {}));
    return this.syncWaiters.wait(t, signal);
  }

  /** Follower: reads the log from `nextPosition` to its end and applies it; sees every entry durable when called. */
  catchUp(): Promise<void> {
    return this.following().catchUp();
  }

  /**
   * Follower: a log entry the leader pushed (`bytes` exactly the entry's): ignored if applied
   * already, else applied whole or refused with an error (follower.ts).
   */
  applyEntry(position: number, bytes: Uint8Array): Promise<void> {
    return this.following().applyEntry(position, bytes);
  }

  /** Follower: moves onto the index root in storage if it is newer; the db value keeps its basis and datoms. True if it moved. */
  refreshRoot(): Promise<boolean> {
    return this.following().refreshRoot();
  }

  /**
   * Leader: calls `listener` after each durable log write, before its transactions are answered,
   * with its position, bytes (not to be modified) and basis t; returns a function removing it.
   *
   * @example
   * transactor.onCommitted((position, bytes) => void follower.applyEntry(position, bytes));
   */
  onCommitted(listener: (position: number, bytes: Uint8Array, basisT: number) => void): () => void {
    return this.committed.add(listener);
  }

  /** Leader: calls `listener` with the root's t each time the db value moves onto a new index root; returns a function removing it. */
  onRootMoved(listener: (rootT: number) => void): () => void {
    return this.rootMoved.add(listener);
  }

  private following(): Follower {
    if (this.follower === null) throw new AssertionError(`database ${this.log} is open as its leader, not as a follower`);
    return this.follower;
  }

  /** Waits in `sync` not yet answered (for tests and metrics). */
  get syncWaiterCount(): number {
    return this.syncWaiters.size;
  }

  /**
   * The db value whose basis is exactly `t`, as `transact` made it (the same datoms in every index,
   * history included, and the same schema: an attribute installed after t is unknown to it), unlike
   * `db().asOf(t)`. The current db value when t is its basis; else, with indexing on, rebuilt from
   * the index root the current db value is on, with the transactions after it up to t replayed
   * (costly: kept for the last few t, and shared by concurrent calls; see db-at.ts).
   *
   * Null when it cannot be had that way: t before that root (the trees no longer tell what was
   * current then), t after the current basis or not a t, or indexing off (no root: the log would be
   * replayed from its start, for any t but the current one).
   *
   * @example
   * const db = (await transactor.dbAt(ref.basisT)) ?? transactor.db().asOf(ref.basisT);
   */
  async dbAt(t: number): Promise<Db | null> {
    const recent = this.follower?.recentDb(t);
    if (recent !== undefined) return recent;
    const until = this.position;
    // The novelty the background indexer holds is what write() and open() handed it: logged transactions, counters included.
    const novelty = (): readonly LoggedTransaction[] => this.follower?.transactions ?? ((this.background?.novelty ?? []) as readonly LoggedTransaction[]);
    return this.pastDbs.at(t, this.current, this.onRoot, (onRoot, from) => ({ onRoot, novelty: novelty(), logged: () => loggedIn(this.storage, this.log, from, until) }));
  }

  /** Transactions with `start <= t < end`, read from the log in order. */
  txRange(start = 1, end = Number.MAX_SAFE_INTEGER): AsyncGenerator<TxRangeEntry> {
    return txRangeIn(this.storage, this.log, positionOfT(this.firstTs, this.firstPosition, start), this.position, start, end);
  }

  /** Refuses further transactions and waits for a running index run to end. */
  async close(): Promise<void> {
    this.closed = true;
    const error = closedBeforeWritten();
    this.rejectQueued(error);
    this.syncWaiters.rejectAll(error);
    await this.keys.idle();
    await this.follower?.idle();
    await this.background?.idle();
    await this.indexer?.close();
  }

  /** Answers every queued transaction with `error`. */
  private rejectQueued(error: unknown): void {
    for (const pending of this.queue.splice(0)) pending.reject(error);
  }

  private async flush(): Promise<void> {
    try {
      // A batch processed against the durable db value (or the one the entry in flight makes), to write next.
      let next: Prepared | null = null;
      for (;;) {
        if (next === null) {
          if (this.rebaseTo !== null && this.fenced === null) await this.rebase();
          // Stopping: whatever waits (sent back after close() answered the queue, or queued when
          // a fence came from elsewhere) is answered here.
          if (this.closed) this.rejectQueued(closedBeforeWritten());
          if (this.fenced !== null) this.rejectQueued(this.fenced);
          if (this.queue.length === 0 || this.closed) break;
          next = await this.prepare(this.queue.splice(0, BATCH_MAX), this.current);
        }
        const writing = this.write(next);
        // Meanwhile the batch after it, against the db value it makes (unless a rebase waits: it
        // runs between writes, and would otherwise wait as long as transactions keep coming).
        let after: Prepared | null = null;
        if (this.rebaseTo === null && this.queue.length > 0 && this.fenced === null && !this.closed) {
          after = await this.prepare(this.queue.splice(0, BATCH_MAX), next.db);
        }
        const { written, again } = await writing;
        if (!written) {
          // Processed against a db value that never became durable: again, against the one that is,
          // in the order they came (the loop's top answers them if it stops).
          this.queue.unshift(...again, ...(after === null ? [] : after.batch));
          after = null;
        } else if (after !== null && (this.closed || this.fenced !== null)) {
          // Closed or fenced while it was processed: nothing of it is written or answered yet.
          this.queue.unshift(...after.batch);
          after = null;
        }
        next = after;
      }
    } finally {
      this.writing = false;
    }
  }

  /**
   * Moves the db value onto the newest index root: a db value on its trees, with the novelty
   * after it (the background indexer's pending transactions) replayed. Runs in the writer loop,
   * between commits, so no commit works from a db value this replaces.
   */
  private async rebase(): Promise<void> {
    const { root, indexed } = this.rebaseTo!;
    this.rebaseTo = null;
    if (root.t > this.current.basisT) return;
    try {
      // Taken before any await: a later run would drop what it covers from the indexer's list.
      const novelty = this.background!.novelty;
      const base = new IndexedBase(this.indexer!, root);
      const onRoot = dbOnBase(base, indexed.state.schema, root);
      let db = onRoot;
      for (const logged of novelty) {
        if (logged.t <= root.t) continue;
        const before = db;
        db = await readDb(base, () => replay(before, logged as LoggedTransaction));
      }
      if (db.basisT !== this.current.basisT) throw new AssertionError(`novelty ends at t ${db.basisT}, the db value is at t ${this.current.basisT}`);
      this.current = db;
      this.onRoot = onRoot;
    } catch (error) {
      // The db value in memory stays correct (it holds the novelty the root covers too); the
      // next index run tries again.
      console.error(`factum: could not move database ${this.log} onto index root t ${root.t} (${String(error)}). Nothing is lost: it keeps serving from memory and the next index run tries again; if this repeats, check that storage can be read.`);
      return;
    }
    this.rootMoved.emit(root.t);
  }


  /** Processes a batch against `db`, answering no one yet (`write` does). A method: tests wrap it to hold the writer mid-batch. */
  private prepare(batch: readonly Pending[], db: Db): Promise<Prepared> {
    const expand = this.expandTxData;
    return prepareBatch(batch, db, expand === undefined ? undefined : (before, txData) => expand(before, txData, this.log));
  }

  /**
   * Writes a prepared batch (processed against the durable db value) as the next log entry and
   * answers its transactions. When the entry is not written, its accepted transactions are
   * answered with the failure; those it refused (perhaps because of one that was not written)
   * come back in `again`, to be processed once more (or answered with the fence or the close
   * that stops the writer), and so must a batch processed after it.
   */
  private async write(prepared: Prepared): Promise<{ readonly written: boolean; readonly again: readonly Pending[] }> {
    const { accepted, refused, db } = prepared;
    const refuse = (): void => {
      for (const { pending, error } of refused) pending.reject(error);
    };
    const notWritten = (error: unknown): { written: boolean; again: Pending[] } => {
      for (const { pending } of accepted) pending.reject(error);
      return { written: false, again: refused.map(({ pending }) => pending) };
    };
    if (accepted.length === 0) {
      refuse();
      return { written: true, again: [] };
    }
    // The transactor's clock at commit, recorded in a version-2 entry: idempotency keys are kept
    // for a window measured from it. Never before the previous entry's, so it follows log order.
    const committedMs = Math.max(Date.now(), this.lastCommittedMs);
    let bytes: Uint8Array;
    try {
      bytes = encodeBatch(accepted, committedMs, (key) => this.keys.find(key) !== undefined);
    } catch (error) {
      return notWritten(error);
    }
    const refusal = this.guardWrite();
    if (refusal !== null) return notWritten(refusal);
    let written: boolean;
    try {
      written = await this.storage.appendLog(this.log, this.position, bytes);
    } catch (error) {
      try {
        written = await writtenDespite(this.storage, this.log, this.position, error, bytes);
      } catch (failure) {
        // Not written: nothing of this batch is acknowledged; later transactions go on from the durable db.
        return notWritten(failure);
      }
    }
    if (!written) {
      this.fenced = fencedByAppend(this.position);
      return notWritten(this.fenced); // the writer loop answers the queue with the fence
    }
    refuse();
    const position = this.position;
    this.advance(db, accepted[0]!.report.dbAfter.basisT);
    this.lastCommittedMs = committedMs;
    // Committed in the same step as the position moves: a retry from now on is a duplicate.
    for (const { pending, report } of accepted) {
      if (pending.key !== null) this.keys.commit(pending.key, { t: report.dbAfter.basisT, position, committedMs }, report);
    }
    // An index run may start after any of these: a root covering only part of the entry must
    // name the entry's own position as the first one to replay (opening skips what it covers).
    accepted.forEach(({ report }, i) => {
      const { state } = report.dbAfter;
      const firstUncovered = i === accepted.length - 1 ? this.position : this.position - 1;
      this.background?.added(report.dbAfter, { t: state.basisT, datoms: report.txData, nextUserN: state.nextUserN, nextDbN: state.nextDbN } as LoggedTransaction, firstUncovered);
    });
    // Before answering: the followers' head start on a client that reads its write elsewhere.
    this.committed.emit(position, bytes, db.basisT);
    for (const { pending, report } of accepted) pending.resolve(report);
    this.syncWaiters.wake();
    return { written: true, again: [] };
  }

  /** The log entry at the next position, whose first transaction is at `firstT`, is in `db` now. */
  private advance(db: Db, firstT: number): void {
    this.firstTs.push(firstT);
    this.position++;
    this.current = db;
  }

  /** The write guard's refusal, which fences the transactor as a lost log position does; one that throws refuses this batch only. */
  private guardWrite(): unknown {
    try {
      const refusal = this.writeGuard?.() ?? null;
      if (refusal !== null) this.fenced = refusal;
      return refusal;
    } catch (error) {
      return error;
    }
  }
}
