//! A database opened as a follower (Transactor, role 'follower'): on a node that is not the
//! database's transactor, a read-only copy of the db values the transactor (the leader) makes.
//!
//!   leader's push (position, bytes) ──applyEntry──┐
//!   the log in storage ────────────────catchUp────┼──▶ replay ──▶ db value at the next t ──▶ sync wakes
//!   the root record ────────────────refreshRoot───┴──▶ db value on the new trees + novelty after root.t
//!
//! Opening is a leader's (the root, then the log after it: replay-log.ts); after that, entries come
//! pushed by the leader, and reading the log is the fallback when a push is missing.
//!
//! Invariants:
//! - Entries are applied in log position order, each whole or not at all: an entry that does not
//!   decode, or does not start right after the basis, is an error and changes nothing.
//! - applyEntry, catchUp and refreshRoot run one at a time, in call order; a push of a position
//!   already applied is answered at once (a duplicate), one past the next position reads the log
//!   up to its end first (the pushes between were lost or are late).
//! - A catchUp call is answered by a read of the log that starts after the call: it sees every
//!   entry durable when it was made. Calls made while one waits to start share it.
//! - Moving onto a newer root gives a db value with the same basis and the same datoms as before
//!   (the trees at root.t plus the novelty after it); the novelty the root covers is then dropped.
//! - A follower writes nothing to storage: no log entry, no segment, no root.
import type { Db } from '../db/db.ts';
import { IndexedBase } from '../indexer/indexed-base.ts';
import type { Indexer } from '../indexer/indexer.ts';
import type { IndexRoot } from '../indexer/root.ts';
import type { Storage } from '../storage/protocol.ts';
import { dbOnBase } from '../tx/base-db.ts';
import type { LoggedTransaction } from '../tx/replay.ts';
import { AssertionError } from '../util/assert.ts';
import { FactumError } from '../util/errors.ts';
import { rebuildAt } from './db-at.ts';
import type { FollowerNovelty } from './follower-novelty.ts';
import { decodeLogEntry } from './log-record.ts';
import { replayEntry } from './replay-log.ts';

/** What a follower reads and moves forward in the transactor that holds it. */
export interface FollowedDatabase {
  /** The db value now. */
  current(): Db;
  /** The next log position: entries before it are applied. */
  position(): number;
  /** The db value at the t of the root the current one is on (the empty db value before the first root); null with indexing off. */
  onRoot(): Db | null;
  closed(): boolean;
  /** The entry at `position()` was applied: `db` is the db value after it, `firstT` its first t. */
  applied(db: Db, firstT: number): void;
  /** Moved onto a newer root: `db` has the same basis as the current db value, `onRoot` is at the root's t. */
  rebased(db: Db, onRoot: Db): void;
}

/** Why a follower's database refuses a transaction (or indexing, or collecting garbage). */
export function notLeader(database: string): FactumError {
  return new FactumError('cluster/not-leader', `This node is not the transactor of database ${database}: it holds a read-only copy. Send the transaction to the database's transactor (a node forwards it there); retry if that node has just changed.`, { database });
}

export class Follower {
  /** The jobs (applyEntry, catchUp, refreshRoot), one after another; never rejects. */
  private queue: Promise<unknown> = Promise.resolve();
  /** A catchUp queued and not started: a call made now is answered by it. */
  private queuedCatchUp: Promise<void> | null = null;

  constructor(
    private readonly storage: Storage,
    private readonly log: string,
    private readonly indexer: Indexer | null,
    private readonly novelty: FollowerNovelty,
    private readonly database: FollowedDatabase,
  ) {}

  /** The transactions after the root the db value is on (dbAt replays them). */
  get transactions(): readonly LoggedTransaction[] {
    return this.novelty.transactions;
  }

  /** The db value at `t` if it is one of the newest applied. */
  recentDb(t: number): Db | undefined {
    return this.novelty.recentDb(t);
  }

  /** A log entry the leader pushed (Transactor.applyEntry). */
  applyEntry(position: number, bytes: Uint8Array): Promise<void> {
    if (position < this.database.position()) return Promise.resolve(); // a duplicate: had it already
    return this.serially(() => this.received(position, bytes));
  }

  /** Reads the log from the next position to its end and applies it (Transactor.catchUp). */
  catchUp(): Promise<void> {
    this.queuedCatchUp ??= this.serially(() => {
      this.queuedCatchUp = null; // a call from now on may come after an entry this read misses
      return this.readLog();
    });
    return this.queuedCatchUp;
  }

  /** Moves onto the root record's root if it is newer (Transactor.refreshRoot); true if it moved. */
  refreshRoot(): Promise<boolean> {
    return this.serially(() => this.moveToNewestRoot());
  }

  /** Resolves when no job runs or waits (close). */
  async idle(): Promise<void> {
    await this.queue;
  }

  private serially<T>(job: () => Promise<T>): Promise<T> {
    const result = this.queue.then(job);
    this.queue = result.catch(() => undefined); // the caller of the job gets its error
    return result;
  }

  private async received(position: number, bytes: Uint8Array): Promise<void> {
    if (this.database.closed()) return;
    if (position > this.database.position()) await this.readLog();
    const next = this.database.position();
    if (position < next) return; // the log held it
    if (position > next) {
      throw new FactumError('db/basis-not-reached', `Database ${this.log} was pushed log position ${position}, but its log ends at position ${next}: this node stays at t ${this.database.current().basisT} until the log holds the positions before it.`, {
        database: this.log,
        position,
        logLength: next,
      });
    }
    await this.apply(position, bytes);
  }

  /** Applies the log from the next position to its end. */
  private async readLog(): Promise<void> {
    if (this.database.closed()) return;
    for await (const entry of this.storage.readLog(this.log, this.database.position())) {
      if (this.database.closed()) return;
      await this.apply(entry.position, entry.bytes);
    }
  }

  /** Applies the entry at the next position whole, or throws having changed nothing. */
  private async apply(position: number, bytes: Uint8Array): Promise<void> {
    if (position !== this.database.position()) throw new AssertionError(`follower of ${this.log} applies position ${position} at position ${this.database.position()}`);
    const before = this.database.current();
    const transactions = decodeLogEntry(bytes, position);
    const first = transactions[0];
    if (first === undefined || first.t !== before.basisT + 1) {
      throw new FactumError('storage/corrupt', `Log entry at position ${position} of database ${this.log} starts at t ${first?.t ?? 'none'}, expected t ${before.basisT + 1} (the entry after t ${before.basisT}); it was not applied.`, {
        database: this.log,
        position,
        t: first?.t ?? null,
      });
    }
    // Collected, and handed over only once the whole entry replayed.
    const added: Array<{ db: Db; logged: LoggedTransaction }> = [];
    const db = await replayEntry(before, transactions, position, { added: (after, logged) => added.push({ db: after, logged }) });
    if (this.database.current() !== before) throw new AssertionError(`follower of ${this.log}: the db value moved while an entry was applied`);
    for (const { db: after, logged } of added) this.novelty.added(after, logged);
    this.database.applied(db, first.t);
  }

  private async moveToNewestRoot(): Promise<boolean> {
    const onRoot = this.database.onRoot();
    if (this.indexer === null || onRoot === null || this.database.closed()) return false;
    const root = await this.indexer.refresh();
    if (root === null || root.t <= onRoot.basisT) return false;
    // The leader indexes durable transactions only: the log holds the root's t.
    if (root.t > this.database.current().basisT) await this.readLog();
    // Not yet (the log read stopped at a closed follower): the next refresh tries again.
    if (root.t > this.database.current().basisT) return false;
    await this.rebase(this.indexer, root);
    return true;
  }

  /** Moves the db value onto `root`: a db value on its trees, the novelty after it replayed. */
  private async rebase(indexer: Indexer, root: IndexRoot): Promise<void> {
    const current = this.database.current();
    const onRoot = dbOnBase(new IndexedBase(indexer, root), this.novelty.schemaAt(root.t), root);
    // The novelty reaches back to the root (it starts after an older one): never read from the log here.
    const db = await rebuildAt({ onRoot, novelty: this.novelty.after(root.t), logged: () => [] }, current.basisT);
    if (this.database.current() !== current) throw new AssertionError(`follower of ${this.log}: the db value moved while it was moved onto root t ${root.t}`);
    this.novelty.dropThrough(root.t);
    this.database.rebased(db, onRoot);
  }

}
