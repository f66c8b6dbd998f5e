//! What a follower (follower.ts) keeps in memory besides its db value: the novelty after the index
//! root that db value is on, and its newest db values.
//!
//!   root at r ── novelty: r+1, r+2, … basis ──▶ replayed onto a newer root's trees (rebase)
//!                                          └──▶ replayed onto the root's db value (dbAt)
//!
//! A follower never indexes, so nothing else holds these transactions: the leader's background
//! indexer has them on the leader only. Each is kept with the schema after it: a db value on a
//! root at that t starts from it (the trees hold datoms; the schema is read from them only when a
//! database is opened).
//!
//! Invariants: the transactions are in t order without a gap, the first one right after the t of
//! the root the follower's db value is on, the last one at its basis; `dropThrough(t)` forgets
//! exactly those a root at t covers. With indexing off there is no root to move onto and the db
//! value holds every transaction, so none is kept.
import type { Db } from '../db/db.ts';
import type { Schema } from '../schema/schema.ts';
import type { LoggedTransaction } from '../tx/replay.ts';
import { AssertionError } from '../util/assert.ts';
import { RecentDbValues } from './db-at.ts';
import type { NoveltySink } from './replay-log.ts';

/** Db values kept by t: a forwarded transaction's answer names db values at most this far back. */
const RECENT_MAX = 64;

interface NoveltyEntry {
  readonly logged: LoggedTransaction;
  /** The schema of the db value after it. */
  readonly schema: Schema;
}

export class FollowerNovelty implements NoveltySink {
  private entries: NoveltyEntry[] = [];
  private readonly recent = new RecentDbValues(RECENT_MAX);

  /** `keepsNovelty`: false with indexing off. */
  constructor(private readonly keepsNovelty: boolean) {}

  /** A transaction applied, and the db value after it (in t order, each once). */
  added(db: Db, transaction: LoggedTransaction): void {
    this.recent.add(db);
    if (!this.keepsNovelty) return;
    const last = this.entries[this.entries.length - 1];
    if (last !== undefined && transaction.t !== last.logged.t + 1) throw new AssertionError(`follower novelty: t ${transaction.t} after t ${last.logged.t}`);
    this.entries.push({ logged: transaction, schema: db.schema });
  }

  /** The novelty, in t order. */
  get transactions(): LoggedTransaction[] {
    return this.entries.map((entry) => entry.logged);
  }

  /** The transactions after `t`, in t order. */
  after(t: number): LoggedTransaction[] {
    return this.entries.slice(this.indexOf(t) + 1).map((entry) => entry.logged);
  }

  /** The schema after the transaction at `t`, which must be in the novelty. */
  schemaAt(t: number): Schema {
    const entry = this.entries[this.indexOf(t)];
    if (entry === undefined || entry.logged.t !== t) throw new AssertionError(`follower novelty holds no transaction at t ${t}`);
    return entry.schema;
  }

  /** Forgets the transactions a root at `t` covers. */
  dropThrough(t: number): void {
    this.entries = this.entries.slice(this.indexOf(t) + 1);
  }

  /** The db value at `t` if it is one of the newest applied. */
  recentDb(t: number): Db | undefined {
    return this.recent.get(t);
  }

  /** The index of the transaction at `t` (no gaps: its distance from the first); -1 before the first. */
  private indexOf(t: number): number {
    const first = this.entries[0];
    return first === undefined ? -1 : Math.max(-1, Math.min(t - first.logged.t, this.entries.length - 1));
  }
}
