//! Runs a checked query against resolved db values, the same way on the node's main thread (no
//! query threads) and in a query worker (query-worker.ts).
//!
//! A query's reads are synchronous: the engine stops at the first segment not in memory, the
//! segment is loaded, and the query runs again from the start (readDb, nodes/db/durable-base.ts).
//! The engine enforces the timeout within each run; a query worker marks each run's start and end
//! (EngineRuns), so that its pool can tell a run the engine cannot interrupt.
import type { DurableBase } from '../db/durable-base.ts';
import { readDb } from '../db/durable-base.ts';
import { query } from '../query/index.ts';
import { FactumError } from '../util/errors.ts';

/** A query with its arguments checked and its db values resolved. */
export interface CheckedQuery {
  readonly query: unknown;
  readonly args: readonly unknown[];
  /** Milliseconds, already capped by the node's longest. */
  readonly timeoutMs: number;
  readonly offset: number | null;
  readonly limit: number | null;
}

/** Told when each synchronous run of the engine begins and ends (a query thread's watchdog reads it). */
export interface EngineRuns {
  begin(): void;
  end(): void;
}

/** The error of a query that ran past its timeout (the engine's words). */
export function queryTimedOut(timeoutMs: number): FactumError {
  return new FactumError('query/timeout', `The query ran longer than its timeout of ${timeoutMs} ms and was interrupted.`, { timeoutMs });
}

/** Runs `checked`; `base` loads the segments the first db value's reads stop at. */
export function runQuery(base: DurableBase | null, checked: CheckedQuery, runs?: EngineRuns): Promise<unknown> {
  return readDb(base, () => {
    runs?.begin();
    try {
      return query({ query: checked.query, args: checked.args, timeout: checked.timeoutMs, offset: checked.offset, limit: checked.limit });
    } finally {
      runs?.end();
    }
  });
}
