//! The options a database's transactor is opened with (Transactor.open): durable indexing, and the
//! limits of idempotency keys (checked, with their defaults, by idempotencyLimitsOf in
//! idempotency.ts).
import type { IndexerOptions } from '../indexer/indexer.ts';
import type { BackgroundIndexerOptions } from '../indexer/background-indexer.ts';

export interface IndexingOptions extends IndexerOptions, BackgroundIndexerOptions {}

export interface TransactorOptions {
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
}
