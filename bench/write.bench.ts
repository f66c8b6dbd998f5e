// The write benchmark of issue 2: DataScript's own write workloads on its 20k "people" data, run
// side by side against the `datascript` package and factum's in-memory db in one process, then
// heap bytes per datom of a 1M-datom database (in a child process with --expose-gc).
//
//   npm run bench -- bench/write.bench.ts            BENCH_ROUNDS=9 for more rounds (default 5)
//
// Workloads (DataScript's bench/datascript/bench/datascript.cljc):
//   add-1      one transaction per datom: 5 per person (name, last-name, sex, age, salary)
//   add-5      one transaction per person (a map with all attributes, aliases included)
//   add-all    one transaction of all 20k maps
//   init       a db built from the datoms directly. DataScript: init_db (no transaction at all).
//              factum: replay of one logged transaction holding the datoms (nodes/tx/replay.ts),
//              the path that opening a database takes; it skips the checks as init_db does
//   retract-5  retractEntity of each person, one per transaction, in random order
//
// Differences in the work done (factum does more):
//   - factum writes a :db/txInstant datom per transaction and keeps a history tree;
//   - factum maintains EAVT, AEVT and AVET for every attribute (DataScript: EAVT and AEVT, AVET
//     only for :db/index or :db/unique attributes, which this schema has none of);
//   - factum checks value types against a declared schema; DataScript is schemaless here;
//   - retract-5: factum moves both rows of each retracted datom into its history trees;
//   - factum applies index updates when a tree is next read (nodes/tx/deferred-trees.ts); every
//     factum workload here ends by reading all eight trees, so their full cost is in its time.
//   - add-1: DataScript's bench passes the person's :db/id string (a tempid) in each of the five
//     transactions, making five entities per person; here both build one entity per person:
//     DataScript with the integer id, factum with a tempid once and then the id it got.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import datascript, { type DsDb, type DsSchema } from 'datascript';
import { emptyDb, type Db } from '../nodes/db/index.ts';
import { PART_USER, entityId, txOfT, type Datom } from '../nodes/datom/datom.ts';
import { replay, type LoggedTransaction } from '../nodes/tx/replay.ts';
import { kw, type Keyword } from '../nodes/values/values.ts';
import { people, seededRandom, shuffle, type Person } from './people.ts';
import { median } from './timing.ts';

const PEOPLE = 20_000;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
/** BENCH_ONLY=init,add-5 runs just those workloads (and the heap figure only if it names `heap`). */
const ONLY = process.env.BENCH_ONLY?.split(',') ?? null;
const WARMUP_ROUNDS = 1;

const dsSchema: DsSchema = { alias: { ':db/cardinality': ':db.cardinality/many' } };

const factumSchema = [
  attribute('name', 'string'),
  attribute('last-name', 'string'),
  attribute('alias', 'string', 'many'),
  attribute('sex', 'keyword'),
  attribute('age', 'long'),
  attribute('salary', 'long'),
];

function attribute(ident: string, type: string, cardinality = 'one'): Record<string, Keyword> {
  return { 'db/ident': kw(ident), 'db/valueType': kw(`db.type/${type}`), 'db/cardinality': kw(`db.cardinality/${cardinality}`) };
}

const sexes: Record<Person['sex'], Keyword> = { male: kw('male'), female: kw('female') };

function factumMap(p: Person): Record<string, unknown> {
  return { 'db/id': String(p.id), name: p.name, 'last-name': p.lastName, alias: p.alias, sex: sexes[p.sex], age: p.age, salary: p.salary };
}

function datascriptMap(p: Person): Record<string, unknown> {
  return { ':db/id': String(p.id), name: p.name, 'last-name': p.lastName, alias: p.alias, sex: ':' + p.sex, age: p.age, salary: p.salary };
}

/** [e a v] triples of one person, aliases one datom each (duplicates dropped, as a set). */
function triples(p: Person): Array<[string, unknown]> {
  const out: Array<[string, unknown]> = [['name', p.name], ['last-name', p.lastName]];
  for (const alias of new Set(p.alias)) out.push(['alias', alias]);
  out.push(['sex', p.sex], ['age', p.age], ['salary', p.salary]);
  return out;
}

interface Workload {
  readonly name: string;
  readonly datascript: () => unknown;
  readonly factum: () => unknown;
  /** Datoms of the people attributes in the result, to check both sides did the same work. */
  readonly check: (datascriptResult: unknown, factumResult: unknown) => void;
}

function factumUserDatoms(db: Db): number {
  let n = 0;
  for (const a of ['name', 'last-name', 'alias', 'sex', 'age', 'salary']) n += db.count('aevt', a);
  return n;
}

function sameCount(ds: unknown, factum: unknown): void {
  const left = datascript.datoms(ds as DsDb, ':eavt').length;
  const right = factumUserDatoms(factum as Db);
  if (left !== right) throw new Error(`workloads differ: DataScript has ${left} datoms, factum ${right}`);
}

/** Reads every index tree, current and history, so deferred index updates are paid for. */
function indexed(db: Db): Db {
  const { current, history } = db.state;
  for (const trees of [current, history]) void [trees.eavt, trees.aevt, trees.avet, trees.vaet];
  return db;
}

function workloads(data: Person[]): Workload[] {
  const base = emptyDb().with(factumSchema).dbAfter;
  const dsEmpty = datascript.empty_db(dsSchema);
  const dsAll = data.map(datascriptMap);
  const factumAll = data.map(factumMap);
  const dsDatoms = data.flatMap((p) => triples(p).map(([a, v]) => [p.id, a, a === 'sex' ? ':' + (v as string) : v]));
  const factumInit = loggedTransaction(base, data);
  const dsFull = datascript.db_with(dsEmpty, dsAll);
  const factumFull = indexed(base.with(factumAll).dbAfter);
  const random = seededRandom(7);
  const dsIds = shuffle(datascript.datoms(dsFull, ':aevt', 'name').map((d) => d.e), random);
  const factumIds = shuffle([...factumFull.datoms('aevt', 'name')].map((d) => d.e), random);
  return [
    {
      name: 'add-1',
      datascript: () => {
        let db = dsEmpty;
        for (const p of data) {
          db = datascript.db_with(db, [[':db/add', p.id, 'name', p.name]]);
          db = datascript.db_with(db, [[':db/add', p.id, 'last-name', p.lastName]]);
          db = datascript.db_with(db, [[':db/add', p.id, 'sex', ':' + p.sex]]);
          db = datascript.db_with(db, [[':db/add', p.id, 'age', p.age]]);
          db = datascript.db_with(db, [[':db/add', p.id, 'salary', p.salary]]);
        }
        return db;
      },
      factum: () => {
        let db = base;
        for (const p of data) {
          const report = db.with([['db/add', 'p', 'name', p.name]]);
          const e = report.tempids.p!;
          db = report.dbAfter.with([['db/add', e, 'last-name', p.lastName]]).dbAfter;
          db = db.with([['db/add', e, 'sex', sexes[p.sex]]]).dbAfter;
          db = db.with([['db/add', e, 'age', p.age]]).dbAfter;
          db = db.with([['db/add', e, 'salary', p.salary]]).dbAfter;
        }
        return indexed(db);
      },
      check: sameCount,
    },
    {
      name: 'add-5',
      datascript: () => {
        let db = dsEmpty;
        for (const p of dsAll) db = datascript.db_with(db, [p]);
        return db;
      },
      factum: () => {
        let db = base;
        for (const p of factumAll) db = db.with([p]).dbAfter;
        return indexed(db);
      },
      check: sameCount,
    },
    {
      name: 'add-all',
      datascript: () => datascript.db_with(dsEmpty, dsAll),
      factum: () => indexed(base.with(factumAll).dbAfter),
      check: sameCount,
    },
    {
      name: 'init',
      datascript: () => datascript.init_db(dsDatoms, dsSchema),
      factum: () => indexed(replay(base, factumInit)),
      check: sameCount,
    },
    {
      name: 'retract-5',
      datascript: () => {
        let db = dsFull;
        for (const e of dsIds) db = datascript.db_with(db, [[':db.fn/retractEntity', e]]);
        return db;
      },
      factum: () => {
        let db = factumFull;
        for (const e of factumIds) db = db.with([['db/retractEntity', e]]).dbAfter;
        return indexed(db);
      },
      check: sameCount,
    },
  ];
}

/** The people as one logged transaction: the datoms a log entry would hold, ids already assigned. */
function loggedTransaction(base: Db, data: readonly Person[]): LoggedTransaction {
  const t = base.basisT + 1;
  const tx = txOfT(t);
  const datoms: Datom[] = [];
  data.forEach((p, n) => {
    const e = entityId(PART_USER, base.state.nextUserN + n);
    for (const [a, v] of triples(p)) {
      datoms.push({ e, a: base.attribute(kw(a))!.id, v: a === 'sex' ? sexes[v as Person['sex']] : v, tx, added: true });
    }
  });
  return { t, datoms, nextUserN: base.state.nextUserN + data.length, nextDbN: base.state.nextDbN };
}

function timeMs(run: () => unknown): [number, unknown] {
  const start = performance.now();
  const result = run();
  return [performance.now() - start, result];
}

function runTimings(): void {
  const data = people(PEOPLE);
  console.log(`write workloads, ${PEOPLE} people, median of ${ROUNDS} rounds after ${WARMUP_ROUNDS} warm-up rounds (ms per workload)`);
  console.log('workload    DataScript      factum   DataScript/factum');
  for (const workload of workloads(data).filter((w) => ONLY === null || ONLY.includes(w.name))) {
    const times = { datascript: [] as number[], factum: [] as number[] };
    for (let round = 0; round < WARMUP_ROUNDS + ROUNDS; round++) {
      // Alternate which goes first, so neither always runs on the other's garbage.
      const order = round % 2 === 0 ? (['datascript', 'factum'] as const) : (['factum', 'datascript'] as const);
      const results: Record<string, unknown> = {};
      for (const side of order) {
        const [ms, result] = timeMs(workload[side]);
        results[side] = result;
        if (round >= WARMUP_ROUNDS) times[side].push(ms);
      }
      if (round === 0) workload.check(results.datascript, results.factum);
    }
    const ds = median(times.datascript);
    const factum = median(times.factum);
    console.log(`${workload.name.padEnd(10)} ${ds.toFixed(1).padStart(10)} ${factum.toFixed(1).padStart(11)} ${(ds / factum).toFixed(2).padStart(12)}x`);
  }
}

// ---- heap bytes per datom (child process with --expose-gc) ----

const MEMORY_DATOMS = 1_000_000;
const PEOPLE_PER_TRANSACTION = 1000;

interface Usage {
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

function settledUsage(): Usage {
  const gc = (globalThis as { gc?: () => void }).gc!;
  for (let i = 0; i < 4; i++) gc();
  const { heapUsed, external, arrayBuffers } = process.memoryUsage();
  return { heapUsed, external, arrayBuffers };
}

function report(label: string, before: Usage, after: Usage, datoms: number): void {
  const per = (key: keyof Usage) => ((after[key] - before[key]) / datoms).toFixed(1).padStart(6);
  console.log(`${label.padEnd(10)} ${String(datoms).padStart(9)} datoms: heapUsed ${per('heapUsed')} B/datom, external ${per('external')} B/datom (of which arrayBuffers ${per('arrayBuffers')})`);
}

function runMemory(): void {
  // ~9.5 datoms per person (5 attributes and 0-9 distinct aliases); stop at the first batch past 1M.
  const data = people(Math.ceil(MEMORY_DATOMS / 8));
  const batches: Array<Record<string, unknown>[]> = [];
  for (let i = 0; i < data.length; i += PEOPLE_PER_TRANSACTION) batches.push(data.slice(i, i + PEOPLE_PER_TRANSACTION).map(factumMap));
  let before = settledUsage();
  let db = emptyDb().with(factumSchema).dbAfter;
  for (const batch of batches) {
    db = db.with(batch).dbAfter;
    if (db.state.current.eavt.size >= MEMORY_DATOMS) break;
  }
  indexed(db);
  let after = settledUsage();
  console.log(`\nheap per datom, ${PEOPLE_PER_TRANSACTION} people per transaction, after gc (all datoms counted, txInstant and schema included)`);
  report('factum', before, after, db.state.current.eavt.size);
  before = settledUsage();
  let ds = datascript.empty_db(dsSchema);
  let count = 0;
  for (let i = 0; i < data.length && count < MEMORY_DATOMS; i += PEOPLE_PER_TRANSACTION) {
    const batch = data.slice(i, i + PEOPLE_PER_TRANSACTION);
    ds = datascript.db_with(ds, batch.map(datascriptMap));
    count += batch.reduce((n, p) => n + triples(p).length, 0);
  }
  after = settledUsage();
  report('DataScript', before, after, datascript.datoms(ds, ':eavt').length);
}

if (process.argv.includes('--memory')) {
  runMemory();
} else {
  runTimings();
  if (ONLY !== null && !ONLY.includes('heap')) process.exit();
  const self = fileURLToPath(import.meta.url);
  const child = spawnSync(process.execPath, [...process.execArgv, '--expose-gc', self, '--memory'], { stdio: 'inherit' });
  if (child.status !== 0) process.exitCode = child.status ?? 1;
}
