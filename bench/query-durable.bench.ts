// Queries on a durable base against the same database held in memory: what reading through the
// durable trees (merged levels, the generic scan path, segment residency checks) costs once the
// segments are in the memory cache. The peer is factum itself with indexing off. 20,000 people
// (name among 8, age, salary), fully indexed; mean of 10 runs after 3 warm-ups.
// Run: npm run bench -- bench/query-durable.bench.ts
import { Transactor } from '../nodes/transactor/transactor.ts';
import { createMemoryStorage } from '../nodes/storage/memory/memory-storage.ts';
import { readDb } from '../nodes/db/durable-base.ts';
import { readEdn } from '../nodes/edn/reader.ts';
import { q } from '../nodes/query/index.ts';
import type { Db } from '../nodes/db/index.ts';
import { seededRandom } from '../nodes/util/random.ts';
const names = ['Ivan', 'Petr', 'Sergei', 'Oleg', 'Yuri', 'Dmitry', 'Fedor', 'Denis'];
const r = seededRandom(1);
const schema = readEdn(`[{:db/ident :name :db/valueType :db.type/string :db/cardinality :db.cardinality/one}
 {:db/ident :age :db/valueType :db.type/long :db/cardinality :db.cardinality/one}
 {:db/ident :salary :db/valueType :db.type/long :db/cardinality :db.cardinality/one}]`);
const mem = await Transactor.open(createMemoryStorage(), 'db', { indexing: false });
const dur = await Transactor.open(createMemoryStorage(), 'db', { indexing: { noveltyBytesMax: 1e12, backPressureBytes: 1e13 } });
await mem.transact(schema); await dur.transact(schema);
for (let b = 0; b < 4; b++) {
  const batch = Array.from({ length: 5000 }, () => ({ name: names[Math.floor(r() * names.length)], age: Math.floor(r() * 100), salary: Math.floor(r() * 100000) }));
  await mem.transact(batch); await dur.transact(batch);
}
await dur.indexNow();
const queries = {
  q1: '[:find ?e :where [?e :name "Ivan"]]',
  q2: '[:find ?e ?a :where [?e :name "Ivan"] [?e :age ?a]]',
  qpred1: '[:find ?e ?s :where [?e :salary ?s] [(> ?s 50000)]]',
  join: '[:find ?e ?e2 :where [?e :name "Ivan"] [?e :age ?a] [?e2 :age ?a] [?e2 :name "Oleg"]]',
};
const time = async (db: Db, query: string) => {
  for (let i = 0; i < 3; i++) await readDb(db.state.base, () => q(query, db));
  const n = 10; const s = performance.now();
  for (let i = 0; i < n; i++) await readDb(db.state.base, () => q(query, db));
  return (performance.now() - s) / n;
};
console.log('query     memory ms   durable ms    durable/memory');
for (const [name, query] of Object.entries(queries)) {
  const a = await time(mem.db(), query); const b = await time(dur.db(), query);
  console.log(`${name.padEnd(8)} ${a.toFixed(2).padStart(10)} ${b.toFixed(2).padStart(14)} ${(b / a).toFixed(2).padStart(8)}x`);
}
