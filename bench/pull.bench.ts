// The pull benchmark of issue 3: DataScript's pull workloads on its own data, plus 1,000
// lookup-ref pulls, run side by side against the `datascript` package in one process.
//
//   npm run bench -- bench/pull.bench.ts            BENCH_SAMPLES=15 for more samples (default 9)
//
// Workloads (DataScript's bench/datascript/bench/datascript.cljc):
//   pull-one       [:name {:follows ...}] from the root of wide-db 4×5 (781 people, a tree)
//   pull-many      [:db/id :last-name :alias :sex :age :salary {:follows ...}] from the root
//   pull-wildcard  [* {:follows ...}] from the root
//   lookup-1000    [:name :last-name :age] of 1,000 people named by lookup ref [:id n], in a db
//                  of DataScript's 20k people
//
// Both sides get the pattern as EDN text (each caches parsed patterns). DataScript's JS API
// converts its result to JS objects, which is part of what a JS caller pays. factum's results
// differ in one way: its refs are `{ 'db/id': n }` objects as in Datomic, as are DataScript's.
// Each sample runs a workload repeatedly for SAMPLE_MS and reports time per run; the table shows
// the median sample of each side and the ratio.
import datascript, { type DsDb, type DsSchema } from 'datascript';
import { emptyDb, type Db } from '../nodes/db/index.ts';
import { pull } from '../nodes/pull/index.ts';
import { kw, type Keyword } from '../nodes/values/values.ts';
import { people, seededRandom, type Person } from './people.ts';
import { perRun, median } from './timing.ts';

const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 9);
const SAMPLE_MS = 200;
const WARMUP_MS = 600;

const ds = datascript as unknown as typeof datascript & { pull(db: DsDb, pattern: string, eid: unknown): unknown };

const dsSchema: DsSchema = {
  id: { ':db/unique': ':db.unique/identity' },
  follows: { ':db/valueType': ':db.type/ref', ':db/cardinality': ':db.cardinality/many' },
  alias: { ':db/cardinality': ':db.cardinality/many' },
};

function attribute(ident: string, type: string, more: Record<string, unknown> = {}): Record<string, unknown> {
  const { many, ...rest } = more;
  return { 'db/ident': kw(ident), 'db/valueType': kw(`db.type/${type}`), 'db/cardinality': kw(`db.cardinality/${many === true ? 'many' : 'one'}`), ...rest };
}

const factumSchema = [
  attribute('id', 'long', { 'db/unique': kw('db.unique/identity') }),
  attribute('name', 'string'),
  attribute('last-name', 'string'),
  attribute('alias', 'string', { many: true }),
  attribute('sex', 'keyword'),
  attribute('age', 'long'),
  attribute('salary', 'long'),
  attribute('follows', 'ref', { many: true }),
];

const sexes: Record<Person['sex'], Keyword> = { male: kw('male'), female: kw('female') };

/** DataScript's wide-db: node `id` follows `id*width + i`, `depth` levels below the root. */
function wideTree(depth: number, width: number): Array<{ id: number; follows: number[] }> {
  const nodes: Array<{ id: number; follows: number[] }> = [];
  const visit = (id: number, level: number): void => {
    const follows = level > 0 ? Array.from({ length: width }, (_, i) => id * width + i) : [];
    nodes.push({ id, follows });
    for (const child of follows) visit(child, level - 1);
  };
  visit(1, depth);
  return nodes;
}

interface Sides {
  readonly factum: Db;
  readonly datascript: DsDb;
}

function load(persons: readonly Person[], follows: ReadonlyMap<number, readonly number[]>): Sides {
  const factumData = persons.map((p) => ({
    'db/id': `p${p.id}`, id: p.id, name: p.name, 'last-name': p.lastName, alias: p.alias, sex: sexes[p.sex], age: p.age, salary: p.salary,
    ...(follows.has(p.id) && follows.get(p.id)!.length > 0 ? { follows: follows.get(p.id)!.map((f) => `p${f}`) } : {}),
  }));
  const dsData = persons.map((p) => ({
    ':db/id': p.id, id: p.id, name: p.name, 'last-name': p.lastName, alias: p.alias, sex: ':' + p.sex, age: p.age, salary: p.salary,
    ...(follows.has(p.id) && follows.get(p.id)!.length > 0 ? { follows: follows.get(p.id) } : {}),
  }));
  const factum = emptyDb().with(factumSchema).dbAfter.with(factumData).dbAfter;
  const dsDb = datascript.db_with(datascript.empty_db(dsSchema), dsData);
  return { factum, datascript: dsDb };
}

function wideDb(): Sides {
  const tree = wideTree(4, 5);
  const persons = people(tree.length, 7).map((p, i) => ({ ...p, id: tree[i]!.id }));
  return load(persons, new Map(tree.map((node) => [node.id, node.follows])));
}

interface Workload {
  readonly name: string;
  readonly datascript: () => unknown;
  readonly factum: () => unknown;
}

function workloads(): Workload[] {
  const wide = wideDb();
  const root = wide.factum.entid([kw('id'), 1])!;
  const recursive = (edn: string, dsEdn: string): Pick<Workload, 'datascript' | 'factum'> => ({
    datascript: () => ds.pull(wide.datascript, dsEdn, 1),
    factum: () => pull(wide.factum, edn, root),
  });
  const crowd = load(people(20_000), new Map());
  const random = seededRandom(99);
  const picks = Array.from({ length: 1000 }, () => 1 + Math.floor(random() * 20_000));
  return [
    { name: 'pull-one', ...recursive('[:name {:follows ...}]', '["name" {"follows" ...}]') },
    { name: 'pull-many', ...recursive('[:db/id :last-name :alias :sex :age :salary {:follows ...}]', '[:db/id "last-name" "alias" "sex" "age" "salary" {"follows" ...}]') },
    { name: 'pull-wildcard', ...recursive('[* {:follows ...}]', '[* {"follows" ...}]') },
    {
      name: 'lookup-1000',
      datascript: () => picks.map((n) => ds.pull(crowd.datascript, '["name" "last-name" "age"]', ['id', n])),
      factum: () => picks.map((n) => pull(crowd.factum, '[:name :last-name :age]', [kw('id'), n])),
    },
  ];
}

/** The shapes must agree before timing means anything. */
function checkSameCounts(workload: Workload): void {
  const size = (value: unknown): number => {
    if (Array.isArray(value)) return value.reduce((n: number, v) => n + 1 + size(v), 0);
    if (typeof value === 'object' && value !== null && value.constructor === Object) return Object.values(value).reduce((n: number, v) => n + 1 + size(v), 0);
    return 0;
  };
  const a = size(workload.datascript());
  const b = size(workload.factum());
  if (Math.abs(a - b) > a * 0.05) throw new Error(`${workload.name}: DataScript and factum results differ in size (${a} vs ${b})`);
}

function main(): void {
  console.log(`pull workloads, median of ${SAMPLES} samples of ${SAMPLE_MS} ms after ${WARMUP_MS} ms warm-up (ms per run)`);
  console.log('workload         DataScript      factum   DataScript/factum');
  const ratios: number[] = [];
  for (const workload of workloads()) {
    checkSameCounts(workload);
    perRun(workload.datascript, WARMUP_MS);
    perRun(workload.factum, WARMUP_MS);
    const times = { datascript: [] as number[], factum: [] as number[] };
    for (let i = 0; i < SAMPLES; i++) {
      times.datascript.push(perRun(workload.datascript, SAMPLE_MS));
      times.factum.push(perRun(workload.factum, SAMPLE_MS));
    }
    const dsMs = median(times.datascript);
    const factumMs = median(times.factum);
    ratios.push(dsMs / factumMs);
    console.log(`${workload.name.padEnd(14)} ${dsMs.toFixed(3).padStart(12)} ${factumMs.toFixed(3).padStart(11)} ${(dsMs / factumMs).toFixed(2).padStart(12)}x`);
  }
  const geometricMean = Math.exp(ratios.reduce((sum, r) => sum + Math.log(r), 0) / ratios.length);
  console.log(`geometric mean of ratios: ${geometricMean.toFixed(2)}x`);
}

main();
