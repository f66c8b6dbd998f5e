//! The durable part of a db value: index trees read from storage, covering every transaction up
//! to `t`. A db state on a durable base holds only the novelty after `t` in memory (DESIGN.md,
//! "durable tree + novelty"); reads merge the two (db.ts).
//!
//! Reads are synchronous: they use segments already in memory and throw `SegmentNotResident`
//! (nodes/btree/durable-tree.ts) at the first one that is not. `readDb` runs a reader, loads the
//! segment it stopped at, and runs it again; db values are immutable and readers pure, so the
//! rerun answers as an uninterrupted run would.
import type { Datom, IndexName } from '../datom/datom.ts';
import { SegmentNotResident } from '../btree/durable-tree.ts';
import { fail } from '../util/errors.ts';
import type { IoContext } from '../cache/io-stats.ts';

export type TreeKind = 'current' | 'history';

export interface DurableBase {
  /** The basis t of the trees: they hold every datom of transactions up to t. */
  readonly t: number;
  /**
   * Datoms of one tree from the first whose leading components equal `lower`, up to those
   * equal to `upper` (inclusive) or before them (exclusive), in the tree's order.
   */
  datoms(index: IndexName, kind: TreeKind, lower: readonly unknown[], upper: readonly unknown[], upperInclusive: boolean): Iterable<Datom>;
  /** The number of datoms `datoms` would give (exact: branches record counts). */
  count(index: IndexName, kind: TreeKind, lower: readonly unknown[], upper: readonly unknown[], upperInclusive: boolean): number;
  /** The number of datoms in a tree. */
  size(index: IndexName, kind: TreeKind): number;
  /** The t of the newest transaction the base covers whose instant is at or before `ms` (0 if none). */
  tAtInstant(ms: number): number;
  /** Makes a segment resident (after `SegmentNotResident`), recording the read in `context` too. */
  load(address: string, context?: IoContext): Promise<void>;
}

let active: IoContext | undefined;

/** The I/O context of the reader `readDb` is running now (reads are synchronous, so there is one at a time). */
export function activeIoContext(): IoContext | undefined {
  return active;
}

/** Segment loads one read may need at most before it is refused (the memory cache is too small for it). */
const LOADS_MAX = 100_000;

/** What loads a segment a reader stopped at: a durable base, or an indexer's node cache. */
export interface SegmentLoader {
  load(address: string, context?: IoContext): Promise<unknown>;
}

/**
 * Runs a synchronous reader of db values, loading each segment it needs that is not in memory
 * and running it again (see above). A reader over in-memory db values runs once. Its segment
 * reads are recorded in `context` (and the process's) when given. The error says which segment
 * is missing and may know how to load it; `loader` loads it otherwise.
 */
export async function readDb<T>(loader: SegmentLoader | null, reader: () => T, context?: IoContext, loadsMax = LOADS_MAX): Promise<T> {
  for (let loads = 0; ; loads++) {
    let missing: SegmentNotResident;
    const outer = active;
    active = context; // only while the reader runs (synchronously), never across an await
    try {
      return reader();
    } catch (error) {
      if (!(error instanceof SegmentNotResident)) throw error;
      missing = error;
    } finally {
      active = outer;
    }
    if (loads >= loadsMax) {
      fail('storage/busy', `A read needed more than ${loadsMax} segment loads; the segment cache is too small for it. Raise cacheBytesMax or narrow the query.`, { loads, loadsMax });
    }
    if (missing.load !== undefined) await missing.load(context);
    else if (loader !== null) await loader.load(missing.address, context);
    else throw missing;
  }
}
