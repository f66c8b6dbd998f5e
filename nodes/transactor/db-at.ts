//! Exact db values at a past basis t (Transactor.dbAt): the db value `transact` made at t, rebuilt
//! from the index root the transactor's db value is on, with the transactions after the root up
//! to t replayed onto it, as opening a database does up to its newest t.
//!
//!   root (trees at r) ──replay r+1 … t──▶ db value at t        r ≤ t ≤ basis
//!
//! Why not `current.asOf(t)`: a filter of the newest db value holds the datoms of t's db value
//! except the past values of :db/noHistory attributes (gone), and it knows the attributes
//! installed after t. A rebuilt db value is the one made at t: same datoms in every index,
//! history included, same schema.
//!
//! The transactions to replay come from memory (the novelty the background indexer holds) when
//! it reaches back to the root; else (an index run has just dropped them, and the db value has
//! not moved onto its new root yet) from the log, read from the root's log position. Everything
//! a rebuild uses is taken when it starts — the db value on the root, the novelty, the log
//! position — so a rebase onto a newer root while it runs changes nothing for it.
//!
//! A rebuild replays up to the whole novelty: the last few are kept (an LRU by t), and calls for
//! one t while it runs share it.
//!
//! A follower also keeps the newest db values it applied (RecentDbValues), so the exact db values
//! a forwarded transaction is answered with (before and after it) cost nothing there.
import type { Db } from '../db/db.ts';
import { readDb } from '../db/durable-base.ts';
import { IndexedBase } from '../indexer/indexed-base.ts';
import type { IndexRoot } from '../indexer/root.ts';
import { replay, type LoggedTransaction } from '../tx/replay.ts';
import { AssertionError } from '../util/assert.ts';

/** What a rebuild starts from, taken in one synchronous step. */
export interface DbAtSource {
  /** The db value at an index root's t, nothing replayed on it (an empty db value at t 0 when there is no root yet). */
  readonly onRoot: Db;
  /** The novelty in memory, in t order: transactions after the indexer's newest root. */
  readonly novelty: readonly LoggedTransaction[];
  /** The transactions of the log from the root's log position on (read only when novelty does not reach back to the root). */
  readonly logged: () => AsyncIterable<LoggedTransaction> | Iterable<LoggedTransaction>;
}

/**
 * Rebuilt db values kept. Each holds its own copy of the novelty up to its t (up to
 * `backPressureBytes` of the indexing options), so few.
 */
const KEPT_MAX = 4;

export class PastDbValues {
  /** By t, least recently used first. */
  private readonly kept = new Map<number, Db>();
  private readonly building = new Map<number, { readonly onRoot: Db; readonly rebuilt: Promise<Db> }>();

  constructor(private readonly keptMax = KEPT_MAX) {}

  /** The kept db value at `t`, if there is one. */
  get(t: number): Db | undefined {
    const db = this.kept.get(t);
    if (db !== undefined) {
      this.kept.delete(t);
      this.kept.set(t, db);
    }
    return db;
  }

  /**
   * The db value at `t` (Transactor.dbAt): `current` at its basis, a kept one, `onRoot` at its t,
   * else rebuilt from `source(onRoot, the root's log position)`. Null for t after the basis of
   * `current` or not a t, t before the t of `onRoot`, or no `onRoot` (indexing off).
   */
  at(t: number, current: Db, onRoot: Db | null, source: (onRoot: Db, from: number) => DbAtSource): Db | null | Promise<Db> {
    if (t === current.basisT) return current;
    if (!Number.isSafeInteger(t) || t < 0 || t > current.basisT) return null;
    const kept = this.get(t);
    if (kept !== undefined) return kept;
    if (onRoot === null || t < onRoot.basisT) return null;
    if (t === onRoot.basisT) return onRoot;
    const base = onRoot.state.base;
    const from = base instanceof IndexedBase ? base.root.logPosition : 0;
    return this.rebuild(t, () => source(onRoot, from));
  }

  /** The db value at `t`, rebuilt from `source()` unless a rebuild of `t` runs already. */
  rebuild(t: number, source: () => DbAtSource): Promise<Db> {
    const running = this.building.get(t);
    if (running !== undefined) return running.rebuilt;
    const taken = source(); // now, before anything else moves
    const rebuilt = rebuildAt(taken, t).then(
      (db) => {
        this.building.delete(t);
        this.keep(db);
        return db;
      },
      (error: unknown) => {
        this.building.delete(t);
        throw error;
      },
    );
    this.building.set(t, { onRoot: taken.onRoot, rebuilt });
    return rebuilt;
  }

  /** The index roots the kept db values and the running rebuilds read (their segments must stay). */
  roots(): IndexRoot[] {
    const out: IndexRoot[] = [];
    for (const db of [...this.kept.values(), ...[...this.building.values()].map((x) => x.onRoot)]) {
      const base = db.state.base;
      if (base instanceof IndexedBase) out.push(base.root);
    }
    return out;
  }

  /**
   * The cutoff for collecting garbage (Indexer.gcStorage) asked for at `olderThanMs`, moved back
   * to the retirement of the roots still in use — the one under `current` (a rebase onto a newer
   * root may be pending), those of the db values kept here or being rebuilt — so they stay readable.
   */
  retentionCutoffMs(olderThanMs: number, newest: IndexRoot | null, current: Db): number {
    let cutoff = olderThanMs;
    const base = current.state.base;
    for (const used of [...(base instanceof IndexedBase ? [base.root] : []), ...this.roots()]) {
      if (newest === null || used.t === newest.t) continue;
      const retired = newest.retired.find((r) => r.t === used.t);
      if (retired !== undefined) cutoff = Math.min(cutoff, retired.retiredAtMs);
    }
    return cutoff;
  }

  private keep(db: Db): void {
    this.kept.delete(db.basisT);
    this.kept.set(db.basisT, db);
    if (this.kept.size > this.keptMax) this.kept.delete(this.kept.keys().next().value!);
  }
}

/**
 * Replays the transactions after `source.onRoot` up to `t` onto it: dbAt's rebuild, and moving a
 * db value onto a new root (t its basis).
 */
export async function rebuildAt(source: DbAtSource, t: number): Promise<Db> {
  const { onRoot, novelty } = source;
  if (t < onRoot.basisT) throw new AssertionError(`db value at t ${t} rebuilt from a root at t ${onRoot.basisT}`);
  const base = onRoot.state.base;
  const first = novelty[0];
  const transactions = first !== undefined && first.t <= onRoot.basisT + 1 ? novelty : source.logged();
  let db = onRoot;
  for await (const logged of transactions) {
    if (logged.t <= db.basisT) continue; // covered by the root (the first entry may hold some)
    if (logged.t > t) break;
    const before = db;
    db = base === null ? replay(before, logged) : await readDb(base, () => replay(before, logged));
  }
  // Checked after the replay: the transactions reached t without a gap (replay checks each step).
  if (db.basisT !== t) throw new AssertionError(`rebuilding the db value at t ${t} from t ${onRoot.basisT} ended at t ${db.basisT}`);
  return db;
}

/**
 * The newest db values made, by t: a bounded ring (the oldest t leaves first). Each shares its
 * rows with the db values after it, so keeping many costs little beyond the novelty they hold.
 */
export class RecentDbValues {
  /** By t, oldest first (db values are added in t order). */
  private readonly byT = new Map<number, Db>();

  constructor(private readonly keptMax: number) {}

  add(db: Db): void {
    this.byT.delete(db.basisT);
    this.byT.set(db.basisT, db);
    if (this.byT.size > this.keptMax) this.byT.delete(this.byT.keys().next().value!);
  }

  get(t: number): Db | undefined {
    return this.byT.get(t);
  }
}
