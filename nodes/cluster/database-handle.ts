//! What the node's HTTP operations need of a database, whichever node holds its transactor: the
//! solo node's `Transactor` is one, and so is the production topology's `DatabaseSeat` (a
//! database on one node of a group: its transactor there, or a follower that forwards
//! transactions to the node that is).
import type { Db } from '../db/db.ts';
import type { TransactCallOptions, TransactResult, TxRangeEntry } from '../transactor/transactor.ts';

export interface DatabaseHandle {
  /** The database's log name (`db-<id>`): the same on every node, new for a database made again under its name. */
  readonly logName: string;
  /** The newest db value this node has. */
  db(): Db;
  /** A db value with basis at least `t`, once this node has it (see Transactor.sync). */
  sync(t?: number, options?: { readonly signal?: AbortSignal }): Promise<Db>;
  /**
   * Reads the log after this node's basis when this node follows the database's transactor, so
   * that its db value then holds every transaction committed before the call (`sync()` without a
   * t, as Datomic's). Absent or a no-op where this node writes the log.
   */
  catchUpWithLog?(): Promise<void>;
  /** The exact db value at basis `t`, or null when it cannot be had (see Transactor.dbAt). */
  dbAt(t: number): Promise<Db | null>;
  transact(txData: unknown, options?: TransactCallOptions): Promise<TransactResult>;
  txRange(start?: number, end?: number): AsyncGenerator<TxRangeEntry>;
  gcStorage(olderThan: Date): Promise<{ readonly deleted: number; readonly kept: number }>;
}

/** The databases of a system, as the node's operations see them (System is one, Cluster another). */
export interface Databases {
  listDatabases(): Promise<string[]>;
  createDatabase(name: string): Promise<boolean>;
  deleteDatabase(name: string): Promise<boolean>;
  /** The database's handle on this node, opened on first use and shared after (the same promise). */
  connect(name: string): Promise<DatabaseHandle>;
}
