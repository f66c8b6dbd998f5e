//! Indexing in the background: the transactor hands over each durable transaction; when novelty
//! passes `noveltyBytesMax`, one index run starts on a snapshot of it while transactions keep
//! flowing. When it ends, the novelty it covered is dropped (listeners learn the new root, so db
//! values can drop it too).
//!
//!   transactor ──added(db, tx, position)──▶ pending novelty ──(≥ noveltyBytesMax)──▶ Indexer.index
//!        ▲                                                                               │
//!        └──────── isOverloaded: novelty ≥ backPressureBytes (refuse with storage/busy) ◀──┘
//!
//! Back-pressure: if indexing falls behind so far that novelty reaches `backPressureBytes`, the
//! transactor should refuse new transactions with `storage/busy` (retryable) until a run ends,
//! rather than let memory grow without bound. A failed run keeps its novelty and is retried by
//! the next transaction; a lost compare-and-swap (another indexer moved the root) stops indexing
//! here for good, and `lostRoot` says so.
import type { Db } from '../db/db.ts';
import type { Datom } from '../datom/datom.ts';
import { fail } from '../util/errors.ts';
import { AssertionError } from '../util/assert.ts';
import { indexInputOf } from './db-input.ts';
import type { Indexer } from './indexer.ts';
import type { LoggedTransaction } from './novelty.ts';
import type { IndexRoot } from './root.ts';

export interface BackgroundIndexerOptions {
  /** Novelty that starts an index run, in estimated bytes. @default - 16 MiB (measured: keeps a 10M-datom import under 1 GB of RSS) */
  readonly noveltyBytesMax?: number;
  /** Novelty at which transactions should be refused until indexing catches up. @default - 4 × noveltyBytesMax */
  readonly backPressureBytes?: number;
}

/**
 * The estimated memory a datom of novelty holds: its row and index entries in the db value, the
 * datom the indexer keeps for the next run, and its value. Calibrated by measurement (live heap
 * after a full GC, 1M datoms of bench/orders.ts data: about 260 bytes a datom).
 */
export function datomBytes(datom: Datom): number {
  const v = datom.v;
  if (typeof v === 'string') return 232 + 2 * v.length;
  if (v instanceof Uint8Array) return 232 + v.length;
  return 256;
}

interface Pending {
  readonly transaction: LoggedTransaction;
  readonly bytes: number;
}

export class BackgroundIndexer {
  private pending: Pending[] = [];
  private bytes = 0;
  private latest: { db: Db; logPosition: number } | null = null;
  private running: Promise<void> | null = null;
  private lost = false;
  private readonly listeners: Array<(root: IndexRoot, indexed: Db) => void> = [];
  /** The error of the last failed run, if the next has not succeeded yet. */
  lastError: unknown = null;
  readonly noveltyBytesMax: number;
  readonly backPressureBytes: number;

  constructor(
    private readonly indexer: Indexer,
    options: BackgroundIndexerOptions = {},
  ) {
    this.noveltyBytesMax = options.noveltyBytesMax ?? 16 * 1024 * 1024;
    this.backPressureBytes = options.backPressureBytes ?? 4 * this.noveltyBytesMax;
    for (const [name, value] of [['noveltyBytesMax', this.noveltyBytesMax], ['backPressureBytes', this.backPressureBytes]] as const) {
      if (!Number.isSafeInteger(value) || value < 1) fail('index/invalid-option', `${name} must be a positive integer, got ${String(value)}`, { [name]: value });
    }
  }

  get noveltyBytes(): number {
    return this.bytes;
  }

  /** True when the transactor should refuse transactions (`storage/busy`) until indexing catches up. */
  get isOverloaded(): boolean {
    return this.bytes >= this.backPressureBytes;
  }

  get lostRoot(): boolean {
    return this.lost;
  }

  /** Calls `listener` after each run with the new root and the db value it indexed (at root.t). */
  onIndexed(listener: (root: IndexRoot, indexed: Db) => void): void {
    this.listeners.push(listener);
  }

  /**
   * Records a durable transaction: `db` is the db value after it, `logPosition` the first log
   * position that may hold transactions after it (the entry holding it, unless it is the entry's
   * last transaction, then the next): a root covering up to it replays from there. Call in t order, for every transaction (novelty after
   * the indexer's root), including the first ones after opening.
   */
  added(db: Db, transaction: LoggedTransaction, logPosition: number): void {
    let bytes = 0;
    for (const datom of transaction.datoms) bytes += datomBytes(datom);
    this.pending.push({ transaction, bytes });
    this.bytes += bytes;
    this.latest = { db, logPosition };
    if (this.bytes >= this.noveltyBytesMax) this.start();
  }

  /** The transactions of novelty not yet indexed, in t order. */
  get novelty(): readonly LoggedTransaction[] {
    return this.pending.map((entry) => entry.transaction);
  }

  /** Resolves when no run is running (starts none). */
  async idle(): Promise<void> {
    while (this.running !== null) await this.running;
  }

  /**
   * Starts a run if none is running and there is novelty (after a failed run, nothing else
   * retries until the next `added`, and a transactor refusing transactions adds nothing).
   */
  resume(): void {
    this.start();
  }

  /**
   * Indexes the novelty there is now: runs (one after another) until a run covers it, one fails,
   * or the root is lost; resolves when no run is running. A run already under way covers only
   * what it started with, so this can take more than one run.
   */
  async flush(): Promise<void> {
    const through = this.pending[this.pending.length - 1]?.transaction.t;
    if (through === undefined) return this.idle();
    for (;;) {
      this.start();
      await this.idle();
      const first = this.pending[0]?.transaction.t;
      if (first === undefined || first > through || this.lastError !== null || this.lost) return;
    }
  }

  private start(): void {
    if (this.running !== null || this.lost || this.latest === null || this.pending.length === 0) return;
    const { db, logPosition } = this.latest;
    const covered = this.pending.length;
    const transactions = this.pending.map((entry) => entry.transaction);
    this.running = this.run(db, transactions, logPosition, covered).finally(() => {
      this.running = null;
      if (this.bytes >= this.noveltyBytesMax && this.lastError === null) this.start();
    });
  }

  private async run(db: Db, transactions: LoggedTransaction[], logPosition: number, covered: number): Promise<void> {
    const last = transactions[transactions.length - 1]!;
    if (last.t !== db.basisT) throw new AssertionError(`novelty ends at t ${last.t} but its db value is at t ${db.basisT}`);
    try {
      const outcome = await this.indexer.index(indexInputOf(db, transactions, logPosition));
      if (outcome.kind === 'conflict') {
        this.lost = true;
        return;
      }
      const dropped = this.pending.splice(0, covered);
      for (const entry of dropped) this.bytes -= entry.bytes;
      this.lastError = null;
      for (const listener of this.listeners) listener(outcome.root, db);
    } catch (error) {
      this.lastError = error;
    }
  }
}
