// The process the indexing crash test kills: transacts into a local database with a tiny novelty
// threshold (so index runs, segment writes and root swaps happen all the time), printing the t of
// each acknowledged transaction. Usage: index-child <directory> <seed> [worker: true|false].
// Stops by itself after 30 s.
import { openLocalStorage } from '../../nodes/storage/local/local-storage.ts';
import { Transactor } from '../../nodes/transactor/transactor.ts';
import { readDb } from '../../nodes/db/durable-base.ts';
import { seededRandom } from '../../nodes/util/random.ts';
import { nextTxData, schemaTx } from '../durable/workload.ts';

const [directory, seed, worker] = process.argv.slice(2);
setTimeout(() => process.exit(3), 30_000).unref();

const storage = await openLocalStorage(directory!);
const transactor = await Transactor.open(storage, 'db', { indexing: { noveltyBytesMax: 4_000, backPressureBytes: 1_000_000_000, leafMax: 16, branchMax: 8, tier0Max: 40, worker: worker === 'true' } });
if (transactor.db().basisT === 0) await transactor.transact(schemaTx);
const random = seededRandom(Number(seed));
for (;;) {
  // Four at a time, so log entries hold several transactions (group commit) and index runs can
  // cover part of an entry.
  const db = transactor.db();
  const batch = await readDb(db.state.base, () => Array.from({ length: 4 }, () => nextTxData(random, db)));
  await Promise.all(
    batch.map(async (txData) => {
      const report = await transactor.transact(txData).catch(() => null);
      if (report !== null) process.stdout.write(`ack ${report.dbAfter.basisT}\n`);
    }),
  );
}
