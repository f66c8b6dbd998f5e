// The commit workload both commit benchmarks run: 5-datom transactions from N concurrent
// submitters for a fixed time, on a fresh database of a given storage.
import type { Storage } from '../nodes/storage/protocol.ts';
import { System } from '../nodes/transactor/system.ts';
import { kw } from '../nodes/values/values.ts';

export interface CommitRate {
  readonly perSecond: number;
  readonly transactions: number;
  /** Log entries written: each group commit is one. */
  readonly logWrites: number;
}

export async function commitRate(storage: Storage, submitters: number, durationMs: number): Promise<CommitRate> {
  const system = new System(storage);
  await system.createDatabase('bench');
  const transactor = await system.connect('bench');
  const one = (ident: string, type: string) => ({ 'db/ident': kw(ident), 'db/valueType': kw(`db.type/${type}`), 'db/cardinality': kw('db.cardinality/one') });
  await transactor.transact([one('p/name', 'string'), one('p/age', 'long'), one('p/salary', 'long'), one('p/city', 'string'), one('p/email', 'string')]);
  const startT = transactor.db().basisT;
  let done = 0;
  const deadline = performance.now() + durationMs;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: submitters }, async (_, s) => {
      for (let i = 0; performance.now() < deadline; i++) {
        await transactor.transact([{ 'p/name': `n${s}-${i}`, 'p/age': i % 90, 'p/salary': i * 7, 'p/city': 'Oslo', 'p/email': `e${s}-${i}@x` }]);
        done++;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const transactions = transactor.db().basisT - startT;
  const catalog = JSON.parse(new TextDecoder().decode((await storage.getRecord('catalog'))!.bytes)) as { databases: Array<{ id: string }> };
  const logWrites = (await storage.logLength(`db-${catalog.databases[0]!.id}`)) - 1;
  await system.close();
  return { perSecond: done / seconds, transactions, logWrites };
}
