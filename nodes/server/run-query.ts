//! Runs a checked query against resolved db values, the same way on the node's main thread (no
//! query threads) and in a query worker (query-worker.ts).
//!
//! A query's reads are synchronous: the engine stops at the first segment not in memory, the
//! segment is loaded, and the query runs again from the start (readDb, nodes/db/durable-base.ts).
//! Its timeout bounds the whole of it, loads and reruns included: each run gets the time left, and
//! the error names the timeout the query asked for.
import type { DurableBase } from '../db/durable-base.ts';
import { readDb } from '../db/durable-base.ts';
import { query } from '../query/index.ts';
import { FactumError, isFactumError } from '../util/errors.ts';

/** A query with its arguments checked and its db values resolved. */
export interface CheckedQuery {
  readonly query: unknown;
  readonly args: readonly unknown[];
  /** Milliseconds, already capped by the node's longest. */
  readonly timeoutMs: number;
  readonly offset: number | null;
  readonly limit: number | null;
}

/** The error of a query that ran past its timeout (the engine's words). */
export function queryTimedOut(timeoutMs: number): FactumError {
  return new FactumError('query/timeout', `The query ran longer than its timeout of ${timeoutMs} ms and was interrupted.`, { timeoutMs });
}

/** Runs `checked`; `base` loads the segments the first db value's reads stop at. */
export function runQuery(base: DurableBase | null, checked: CheckedQuery): Promise<unknown> {
  const deadline = performance.now() + checked.timeoutMs;
  let first = true;
  return readDb(base, () => {
    // The first run gets the whole timeout (as an in-memory query always does); a rerun, what is left.
    const timeout = first ? checked.timeoutMs : Math.ceil(deadline - performance.now());
    if (!first && timeout <= 0) throw queryTimedOut(checked.timeoutMs);
    first = false;
    try {
      return query({ query: checked.query, args: checked.args, timeout, offset: checked.offset, limit: checked.limit });
    } catch (error) {
      if (timeout !== checked.timeoutMs && isFactumError(error, 'query/timeout')) throw queryTimedOut(checked.timeoutMs);
      throw error;
    }
  });
}
