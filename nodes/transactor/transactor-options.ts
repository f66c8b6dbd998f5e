//! The options a database's transactor is opened with (Transactor.open): its role (leader or
//! follower) and the leader's write guard, durable indexing, and the limits of idempotency keys
//! (checked, with their defaults, by idempotencyLimitsOf in idempotency.ts).
import type { IndexerOptions } from '../indexer/indexer.ts';
import type { BackgroundIndexerOptions } from '../indexer/background-indexer.ts';
import type { Db } from '../db/db.ts';
import type { FactumError } from '../util/errors.ts';

export interface IndexingOptions extends IndexerOptions, BackgroundIndexerOptions {}

export interface TransactorOptions {
  /**
   * 'leader': this node is the database's transactor (it writes the log, indexes, collects
   * garbage). 'follower': a read-only copy on another node, fed by the leader's log entries
   * (applyEntry, catchUp) and index roots (refreshRoot); it writes nothing to storage, and refuses
   * transact, indexNow and gcStorage with `cluster/not-leader`. Its indexing options only set its
   * cache levels (it never indexes, nor starts an index worker).
   * @default - 'leader'
   */
  readonly role?: 'leader' | 'follower';
  /**
   * Leader only: asked right before every log write. An error means this node may no longer write
   * (its lease ran out): the batch is not written, its transactions are refused with that error,
   * and so is every later one (the transactor is fenced, as when another writer took its log
   * position). A guard that throws refuses that batch only.
   * @default - no guard: the log's conditional write is the only fence
   */
  readonly writeGuard?: () => FactumError | null;
  /**
   * Durable indexing. False keeps every datom in memory and opens by replaying the whole log.
   * @default - on, with the defaults of IndexerOptions and BackgroundIndexerOptions
   */
  readonly indexing?: IndexingOptions | false;
  /**
   * How long a transaction's idempotency key answers a retry, after it was committed (by the
   * transactor's clock, whatever :db/txInstant the transaction set). Keys are found back this far
   * in the log when a database is opened.
   * @default - 3,600,000 (one hour)
   */
  readonly idempotencyWindowMs?: number;
  /**
   * Idempotency keys remembered at most (the newest are kept): bounds memory and the log read back
   * at open.
   * @default - 100,000
   */
  readonly idempotencyKeysMax?: number;
  /**
   * Leader only: rewrites a transaction's tx-data before it is processed, against `db`, the db
   * value it is processed on (its db-before), in the writer's loop: one transaction at a time,
   * as the engine's own transaction functions run. The node expands calls of deployed ions with
   * it (nodes/ions/expand-ion-calls.ts); an error refuses that transaction only.
   * @default - none: tx-data goes to the engine as it came
   */
  readonly expandTxData?: (db: Db, txData: unknown, log: string) => Promise<unknown>;
}
