//! Runs a synchronous reader (a query or pull over a db value) against durable trees whose
//! segments load asynchronously: run it; if it reaches a segment that is not in memory
//! (`SegmentNotResident`), load that segment and run it again. Db values are immutable and
//! readers pure, so the rerun answers exactly as an uninterrupted run would. Each rerun makes
//! at least one more segment resident, so the runs are bounded by the segments the reader needs
//! (while they fit in the memory cache; `attemptsMax` bounds pathological cases).
import { SegmentNotResident } from '../btree/durable-tree.ts';
import type { IoContext } from '../cache/io-stats.ts';
import { fail } from '../util/errors.ts';
import type { Indexer } from './indexer.ts';

export async function readSynchronously<T>(indexer: Indexer, reader: () => T, context?: IoContext, attemptsMax = 10_000): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return reader();
    } catch (error) {
      if (!(error instanceof SegmentNotResident)) throw error;
      if (attempt >= attemptsMax) {
        fail('storage/busy', `a read needed more than ${attemptsMax} segment loads; the memory cache may be too small for it`, { attemptsMax });
      }
      await indexer.nodes.load(error.address, context);
    }
  }
}
