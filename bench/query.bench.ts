// Query, pull and rule workloads side by side with DataScript (run: npm run bench -- bench/query.bench.ts).
// DataScript's own workloads on its own data shape (20k people: name, last-name, sex, age,
// salary; :follows trees for rules), plus planning, value joins, not/or, aggregates over 1M
// datoms, recursion on a 20k-node tree and lookup-ref pulls. Prints each median and the ratio.
// Not a test: figures vary with the machine; run alone.
import ds, { type DsDb } from 'datascript';
import { emptyDb, type Db } from '../nodes/db/index.ts';
import { readEdn } from '../nodes/edn/reader.ts';
import { pull } from '../nodes/pull/index.ts';
import { q } from '../nodes/query/index.ts';
import { kw } from '../nodes/values/values.ts';

const firstNames = ['Ivan', 'Petr', 'Sergei', 'Oleg', 'Yuri', 'Dmitry', 'Fedor', 'Denis'];
const lastNames = ['Ivanov', 'Petrov', 'Sidorov', 'Kovalev', 'Kuznetsov', 'Voronoi'];

function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Person { name: string; lastName: string; sex: string; age: number; salary: number; email: string }

function people(n: number, seed: number): Person[] {
  const r = random(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)]!;
  return Array.from({ length: n }, (_, i) => ({
    name: pick(firstNames), lastName: pick(lastNames), sex: pick(['male', 'female']),
    age: Math.floor(r() * 100), salary: Math.floor(r() * 100000), email: `p${i}@x`,
  }));
}

const factumSchema = `[
 {:db/ident :name :db/valueType :db.type/string :db/cardinality :db.cardinality/one}
 {:db/ident :last-name :db/valueType :db.type/string :db/cardinality :db.cardinality/one}
 {:db/ident :sex :db/valueType :db.type/string :db/cardinality :db.cardinality/one}
 {:db/ident :age :db/valueType :db.type/long :db/cardinality :db.cardinality/one}
 {:db/ident :salary :db/valueType :db.type/long :db/cardinality :db.cardinality/one}
 {:db/ident :email :db/valueType :db.type/string :db/cardinality :db.cardinality/one :db/unique :db.unique/identity}
 {:db/ident :follows :db/valueType :db.type/ref :db/cardinality :db.cardinality/many}
 {:db/ident :parent :db/valueType :db.type/ref :db/cardinality :db.cardinality/one}]`;

const schemaDb = emptyDb().with(readEdn(factumSchema)).dbAfter;
const dsSchema = {
  follows: { ':db/valueType': ':db.type/ref', ':db/cardinality': ':db.cardinality/many' },
  parent: { ':db/valueType': ':db.type/ref' },
  email: { ':db/unique': ':db.unique/identity' },
};

function personMap(p: Person, withEmail: boolean): Record<string, unknown> {
  const m: Record<string, unknown> = { name: p.name, 'last-name': p.lastName, sex: p.sex, age: p.age, salary: p.salary };
  if (withEmail) m.email = p.email;
  return m;
}

/** Transacts in batches (one transaction per batch) and returns the db and the entity ids. */
function factumPeople(persons: Person[], withEmail: boolean): { db: Db; ids: number[] } {
  let db = schemaDb;
  const ids: number[] = [];
  for (let start = 0; start < persons.length; start += 5000) {
    const batch = persons.slice(start, start + 5000).map((p, i) => ({ 'db/id': `p${i}`, ...personMap(p, withEmail) }));
    const report = db.with(batch);
    db = report.dbAfter;
    batch.forEach((_, i) => ids.push(report.tempids[`p${i}`]!));
  }
  return { db, ids };
}

function datascriptPeople(persons: Person[], withEmail: boolean): { db: DsDb; ids: number[] } {
  const data = persons.map((p, i) => ({ ':db/id': i + 1, ...personMap(p, withEmail) }));
  let db = ds.empty_db(dsSchema);
  for (let start = 0; start < data.length; start += 5000) db = ds.db_with(db, data.slice(start, start + 5000));
  return { db, ids: persons.map((_, i) => i + 1) };
}

/** A tree of `depth` levels where each node follows `width` children (DataScript's wide-db). */
function wideEdges(depth: number, width: number): [number, number][] {
  const edges: [number, number][] = [];
  let next = 1;
  const grow = (node: number, level: number): void => {
    if (level >= depth) return;
    for (let i = 0; i < width; i++) {
      const child = next++;
      edges.push([node, child]);
      grow(child, level + 1);
    }
  };
  grow(next++, 0);
  return edges;
}

/** `width` chains of `depth` nodes each (DataScript's long-db). */
function longEdges(depth: number, width: number): [number, number][] {
  const edges: [number, number][] = [];
  let next = 1;
  for (let w = 0; w < width; w++) {
    let previous = next++;
    for (let d = 0; d < depth; d++) {
      const node = next++;
      edges.push([previous, node]);
      previous = node;
    }
  }
  return edges;
}

function nodesOf(edges: [number, number][]): number[] {
  return [...new Set(edges.flat())];
}

/** Every node gets a :name; edges become `attribute` refs. */
function factumGraph(edges: [number, number][], attribute: string): Db {
  const names = nodesOf(edges).map((n) => [kw('db/add'), `n${n}`, kw('name'), `n${n}`]);
  const data = edges.map(([a, b]) => [kw('db/add'), `n${a}`, kw(attribute), `n${b}`]);
  return schemaDb.with([...names, ...data]).dbAfter;
}

function datascriptGraph(edges: [number, number][], attribute: string): DsDb {
  const names = nodesOf(edges).map((n) => [':db/add', n, 'name', `n${n}`]);
  return ds.db_with(ds.empty_db(dsSchema), [...names, ...edges.map(([a, b]) => [':db/add', a, attribute, b])]);
}

interface Workload {
  readonly name: string;
  readonly datascript: () => unknown;
  readonly factum: () => unknown;
}

function median(run: () => unknown, budgetMs: number): number {
  // Warm up (the JIT, the caches) before timing: a quarter of the budget (at least five runs,
  // at most 2000), so that short workloads are timed on optimised code, not on the first runs.
  const warm = performance.now();
  for (let i = 0; i < 5 || (i < 2000 && performance.now() - warm < budgetMs / 4); i++) run();
  const times: number[] = [];
  const started = performance.now();
  while (times.length < 5 || (performance.now() - started < budgetMs && times.length < 2000)) {
    const t = performance.now();
    run();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1]!;
}

function main(): void {
  const budgetMs = Number(process.env.BENCH_BUDGET_MS ?? 1000);
  const persons = people(20_000, 1);
  const f = factumPeople(persons, true);
  const d = datascriptPeople(persons, true);
  const rules = (attr: string) => `[[(follows ?x ?y) [?x ${attr} ?y]] [(follows ?x ?y) [?x ${attr} ?t] (follows ?t ?y)]]`;
  const factumRules = rules(':follows');
  const dsRules = rules('"follows"');
  const ancestorRules = (attr: string) => `[[(anc ?x ?y) [?x ${attr} ?y]] [(anc ?x ?y) [?x ${attr} ?z] (anc ?z ?y)]]`;
  const workloads: Workload[] = [];
  const add = (name: string, factum: () => unknown, datascript: () => unknown): void => {
    workloads.push({ name, factum, datascript });
  };
  const both = (name: string, text: string, ...inputs: unknown[]): void => {
    const dsText = text.replace(/:(name|last-name|sex|age|salary|email)\b/g, '"$1"');
    add(name, () => q(text, f.db, ...inputs), () => ds.q(dsText, d.db, ...inputs));
  };
  both('q1', '[:find ?e :where [?e :name "Ivan"]]');
  both('q2', '[:find ?e ?a :where [?e :name "Ivan"] [?e :age ?a]]');
  both('q2-reversed', '[:find ?e ?a :where [?e :age ?a] [?e :name "Ivan"]]');
  both('q3', '[:find ?e ?a :where [?e :name "Ivan"] [?e :age ?a] [?e :sex "male"]]');
  both('q4', '[:find ?e ?l ?a :where [?e :name "Ivan"] [?e :last-name ?l] [?e :age ?a] [?e :sex "male"]]');
  both('q5-shortcircuit', '[:find ?e ?n ?l ?a ?s :in $ ?n :where [?e :name ?n] [?e :age ?a] [?e :last-name ?l] [?e :sex ?s]]', 'Nobody');
  both('qpred1', '[:find ?e ?s :where [?e :salary ?s] [(> ?s 50000)]]');
  both('qpred2', '[:find ?e ?s :in $ ?min :where [?e :salary ?s] [(> ?s ?min)]]', 50000);
  both('value-join-age', '[:find ?e ?e2 :where [?e :name "Ivan"] [?e :last-name "Ivanov"] [?e :age ?a] [?e2 :age ?a] [?e2 :name "Oleg"]]');
  both('not', '[:find ?e :where [?e :name "Ivan"] (not [?e :sex "male"])]');
  both('or', '[:find ?e :where (or [?e :name "Ivan"] [?e :name "Oleg"])]');
  const fPattern = readEdn('[:name :last-name :age :sex]') as never;
  const pullMany = (ds as unknown as { pull_many: (db: DsDb, pattern: string, ids: number[]) => unknown }).pull_many;
  add('pull-one', () => pull(f.db, fPattern, f.ids[100]!), () => ds.pull(d.db, '["name", "last-name", "age", "sex"]', d.ids[100]));
  add('pull-many', () => f.ids.slice(0, 1000).map((e) => pull(f.db, fPattern, e)), () => pullMany(d.db, '["name", "last-name", "age", "sex"]', d.ids.slice(0, 1000)));
  const star = readEdn('[*]') as never;
  add('pull-wildcard', () => f.ids.slice(0, 1000).map((e) => pull(f.db, star, e)), () => pullMany(d.db, '["*"]', d.ids.slice(0, 1000)));
  add('pull-lookup-ref-1000', () => persons.slice(0, 1000).map((p) => pull(f.db, fPattern, [kw('email'), p.email])),
    () => persons.slice(0, 1000).map((p) => ds.pull(d.db, '["name", "last-name", "age", "sex"]', ['email', p.email])));
  for (const [kind, depth, width] of [['wide', 3, 3], ['wide', 5, 3], ['wide', 7, 3], ['wide', 4, 6], ['long', 10, 3], ['long', 30, 3], ['long', 30, 5]] as const) {
    const edges = kind === 'wide' ? wideEdges(depth, width) : longEdges(depth, width);
    const fDb = factumGraph(edges, 'follows');
    const dDb = datascriptGraph(edges, 'follows');
    add(`rules-${kind}-${depth}x${width}`, () => q('[:find ?e ?e2 :in $ % :where (follows ?e ?e2)]', fDb, factumRules),
      () => ds.q('[:find ?e ?e2 :in $ % :where (follows ?e ?e2)]', dDb, dsRules));
  }
  const tree: [number, number][] = Array.from({ length: 19_999 }, (_, i) => [i + 2, Math.floor(i / 3) + 1]);
  const fTree = factumGraph(tree, 'parent');
  const dTree = datascriptGraph(tree, 'parent');
  const fLeaf = q('[:find (max ?e) . :where [?e :parent]]', fTree) as number;
  const dLeaf = 20_000;
  add('tree-ancestors-one', () => q('[:find ?a :in $ % ?n :where (anc ?n ?a)]', fTree, ancestorRules(':parent'), fLeaf),
    () => ds.q('[:find ?a :in $ % ?n :where (anc ?n ?a)]', dTree, ancestorRules('"parent"'), dLeaf));
  add('tree-closure', () => q('[:find ?x ?y :in $ % :where (anc ?x ?y)]', fTree, ancestorRules(':parent')),
    () => ds.q('[:find ?x ?y :in $ % :where (anc ?x ?y)]', dTree, ancestorRules('"parent"')));
  if (process.env.BENCH_SKIP_1M !== '1') {
    const big = people(200_000, 2);
    const fBig = factumPeople(big, false);
    const dBig = datascriptPeople(big, false);
    add('agg-count-1M', () => q('[:find (count ?e) . :where [?e :age]]', fBig.db), () => ds.q('[:find (count ?e) . :where [?e "age"]]', dBig.db));
    add('agg-avg-by-name-1M', () => q('[:find ?n (avg ?a) :with ?e :where [?e :name ?n] [?e :age ?a]]', fBig.db),
      () => ds.q('[:find ?n (avg ?a) :with ?e :where [?e "name" ?n] [?e "age" ?a]]', dBig.db));
  }
  report(workloads, budgetMs);
}

function report(workloads: readonly Workload[], budgetMs: number): void {
  const filter = process.env.BENCH_FILTER;
  console.log(`${'workload'.padEnd(24)} ${'datascript ms'.padStart(14)} ${'factum ms'.padStart(11)} ${'ratio'.padStart(8)}`);
  const ratios: number[] = [];
  for (const w of workloads) {
    if (filter !== undefined && !w.name.includes(filter)) continue;
    const dsMs = median(w.datascript, budgetMs);
    const fMs = median(w.factum, budgetMs);
    const ratio = dsMs / fMs;
    ratios.push(ratio);
    console.log(`${w.name.padEnd(24)} ${dsMs.toFixed(3).padStart(14)} ${fMs.toFixed(3).padStart(11)} ${ratio.toFixed(2).padStart(7)}x`);
  }
  const geomean = Math.exp(ratios.reduce((a, r) => a + Math.log(r), 0) / ratios.length);
  console.log(`geometric mean: ${geomean.toFixed(2)}x faster than DataScript`);
}

main();
