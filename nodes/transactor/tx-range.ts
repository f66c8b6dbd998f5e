//! Where Transactor.txRange starts reading the log: the log position that holds the first t asked
//! for, when that position is known, found from the first t of each position read at open.
//!
//!   firstTs:   [ 5,  9, 12, 20 ]      first t of positions firstPosition … firstPosition + 3
//!   start 10 ──binary search──▶ position firstPosition + 1 (t 9 … 11): read from there
//!
//! Invariants: `firstTs` is ascending, one entry per log position from `firstPosition` on. The
//! positions before `firstPosition` (covered by the index root) were not read at open, so a start
//! before the first known t reads the log from position 0. `txRangeIn` reads the range.
import type { Datom } from '../datom/datom.ts';
import type { Storage } from '../storage/protocol.ts';
import { decodeLogEntry } from './log-record.ts';

export interface TxRangeEntry {
  readonly t: number;
  readonly data: readonly Datom[];
}

/** The log position to read from for transactions from `start` on: the last one whose first t is at most `start`, else 0. */
export function positionOfT(firstTs: readonly number[], firstPosition: number, start: number): number {
  if (firstTs.length === 0 || firstTs[0]! > start) return 0;
  let from = 0;
  let lo = 0;
  let hi = firstTs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (firstTs[mid]! <= start) {
      from = mid;
      lo = mid + 1;
    } else hi = mid;
  }
  return from + firstPosition;
}

/**
 * The transactions with `start <= t < end` of log positions `from` to `until` (excluded), in order.
 * `until` is taken when the call is made: entries applied later are not read.
 */
export async function* txRangeIn(storage: Storage, log: string, from: number, until: number, start: number, end: number): AsyncGenerator<TxRangeEntry> {
  for await (const entry of storage.readLog(log, from, until)) {
    for (const logged of decodeLogEntry(entry.bytes, entry.position)) {
      if (logged.t >= end) return;
      if (logged.t >= start) yield { t: logged.t, data: logged.datoms };
    }
  }
}
