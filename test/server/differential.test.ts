// Differential test of the remote client against the embedded one: the same seeded transactions
// and reads, in the same order, on an embedded client (memory storage) and on a remote client of
// a real node process (local storage, background indexing), give the same answers.
//
// Transactions: the durable workload's (test/durable/workload.ts: new people, cardinality-one
// and -many changes, refs, retractEntity, a :db/noHistory counter), the query differential's
// random entities (test/query/generate.ts), every value type as EDN text, and bad tx-data (the
// same error code on both). Each must give the same t, tempids and datoms.
// Reads, on the current db, asOf, since, history and `with` views: datoms of every index with
// and without components (and offset/limit), indexRange, indexPull, random queries (with rules),
// pulls and pullMany, entid, ident, stats; and the whole log through txRange.
//
// Normalisation: relation and collection results are sorted by their EDN printing; values are
// compared with ednEqual (so 1.5M ≠ 1.50M, -0.0 ≠ 0.0); :db/txInstant values, which are each
// process's clock, are replaced by a placeholder. Entity ids are not mapped: both sides run the
// same transactions from an empty database, so they must allocate the same ids.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BigDec, createClient, kw, type Client, type Connection, type Datom, type Db, type IndexName } from '../../client/index.ts';
import type { EmbeddedDb } from '../../client/embedded.ts';
import { startChildNode, type ChildNode } from '../../nodes/cli/serve.ts';
import { ednEqual } from '../../nodes/edn/edn-equal.ts';
import { printEdn } from '../../nodes/edn/printer.ts';
import { isFactumError } from '../../nodes/util/errors.ts';
import { nextTxData, schemaTx } from '../durable/workload.ts';
import { randomEntities, randomQuery, rulesFor, seeded, type Random } from '../query/generate.ts';

const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8];
const TRANSACTIONS = 30;

const pick = <T>(random: Random, xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
const int = (random: Random, n: number): number => Math.floor(random() * n);

const querySchema = `[
 {:db/ident :t/name :db/valueType :db.type/string :db/cardinality :db.cardinality/one}
 {:db/ident :t/age :db/valueType :db.type/long :db/cardinality :db.cardinality/one}
 {:db/ident :t/tag :db/valueType :db.type/string :db/cardinality :db.cardinality/many}
 {:db/ident :t/friend :db/valueType :db.type/ref :db/cardinality :db.cardinality/many}
 {:db/ident :t/parent :db/valueType :db.type/ref :db/cardinality :db.cardinality/one}]`;

const valueTypes = ['keyword', 'string', 'boolean', 'long', 'bigint', 'double', 'bigdec', 'instant', 'uuid', 'uri', 'symbol', 'bytes'] as const;
const valueSchema = `[${valueTypes.map((t) => `{:db/ident :v/${t} :db/valueType :db.type/${t} :db/cardinality :db.cardinality/many}`).join(' ')}
 {:db/ident :v/pair :db/valueType :db.type/tuple :db/tupleTypes [:db.type/string :db.type/long] :db/cardinality :db.cardinality/one}
 {:db/ident :v/key :db/valueType :db.type/string :db/cardinality :db.cardinality/one :db/unique :db.unique/identity}]`;

/** EDN literals of each value type, edge cases included. */
const literals: Record<(typeof valueTypes)[number], readonly string[]> = {
  keyword: [':a', ':b/c', ':x.y/z-w?'],
  string: ['""', '"héllo 😀"', '"a\\nb\\t\\"q\\""', '"\\u0000"'],
  boolean: ['true', 'false'],
  long: ['0', '-1', '9007199254740991', '-9007199254740991', '42'],
  bigint: ['0N', '123456789012345678901234567890N', '-1N'],
  double: ['-0.0', '1.5', '##Inf', '##-Inf', '1.0E-300', '3.141592653589793'],
  bigdec: ['1.50M', '1.5M', '0M', '-3.14159M', '12345678901234567890.123456789M'],
  instant: ['#inst "2020-01-02T03:04:05.678Z"', '#inst "1969-12-31T23:59:59.999Z"'],
  uuid: ['#uuid "f81d4fae-7dec-11d0-a765-00a0c91e6bf6"', '#uuid "00000000-0000-0000-0000-000000000000"'],
  uri: ['#factum/uri "https://example.com/a?b=c"', '#factum/uri "urn:x"'],
  symbol: ['foo/bar', 'baz', '+'],
  bytes: ['#factum/bytes "AAEC/w=="', '#factum/bytes ""'],
};

function valuesTx(random: Random): string {
  // :v/key is unique: a key used before upserts onto its entity.
  const parts = [':db/id "v"', `:v/key "k${int(random, 6)}"`];
  for (const type of valueTypes) {
    if (random() < 0.6) parts.push(`:v/${type} [${literals[type].filter(() => random() < 0.5).join(' ')}]`);
  }
  parts.push(`:v/pair ["p${int(random, 5)}" ${int(random, 100) - 50}]`);
  return `[{${parts.join(' ')}}]`;
}

/** The random entities of the query differential, as one transaction (refs between them are tempids). */
function entitiesTx(random: Random, prefix: string): unknown[] {
  return randomEntities(random).map((entity, i) => ({
    'db/id': `${prefix}${i}`,
    't/name': entity.name,
    ...(entity.age === null ? {} : { 't/age': entity.age }),
    ...(entity.tags.length === 0 ? {} : { 't/tag': [...entity.tags] }),
    ...(entity.friends.length === 0 ? {} : { 't/friend': entity.friends.map((f) => `${prefix}${f}`) }),
    ...(entity.parent === null ? {} : { 't/parent': `${prefix}${entity.parent}` }),
  }));
}

/** Tx-data that must be refused, each for its own reason. */
const badTxData: readonly unknown[] = [
  '[{:db/ident :a/b',
  '[{:no/such-attribute 1}]',
  '[{:person/age "forty"}]',
  [['db/add', 'x', 'person/name', 12]],
  [['db/retract', 999999999, 'person/nope', 1]],
  '[[:db/add "x" :v/pair ["a" "b"]]]',
];

// ---- normalisation ----------------------------------------------------------------------------

interface Sides {
  readonly seed: number;
  readonly txInstant: number;
}

type Outcome = { readonly value: unknown } | { readonly error: string };

async function outcome(run: () => Promise<unknown>): Promise<Outcome> {
  try {
    return { value: await run() };
  } catch (error) {
    if (!isFactumError(error)) throw error;
    return { error: error.code };
  }
}

function tuples(datoms: readonly Datom[], sides: Sides): unknown[][] {
  return datoms.map((d) => [d.e, d.a, d.a === sides.txInstant ? '<txInstant>' : d.v, d.tx, d.added]);
}

async function collectDatoms(datoms: AsyncIterable<Datom>, sides: Sides): Promise<unknown[][]> {
  const out: Datom[] = [];
  for await (const d of datoms) out.push(d);
  return tuples(out, sides);
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** A query result in an order both sides share: rows (or elements) sorted by their EDN text. */
function sorted(result: unknown): unknown {
  if (!Array.isArray(result)) return result;
  return [...result].sort((a, b) => {
    const [x, y] = [printEdn(a), printEdn(b)];
    return x < y ? -1 : x > y ? 1 : 0;
  });
}

function show(value: unknown): string {
  try {
    return printEdn(value);
  } catch {
    return String(value);
  }
}

/** Runs `read` on both sides and expects the same outcome. */
async function same(sides: Sides, label: string, embedded: () => Promise<unknown>, remote: () => Promise<unknown>, normalise: (value: unknown) => unknown = (x) => x): Promise<void> {
  const [a, b] = [await outcome(embedded), await outcome(remote)];
  const [x, y] = ['value' in a ? { value: normalise(a.value) } : a, 'value' in b ? { value: normalise(b.value) } : b];
  const equal = 'value' in x && 'value' in y ? ednEqual(x.value, y.value) : !('value' in x) && !('value' in y) && x.error === y.error;
  expect(equal, `seed ${sides.seed}: ${label}\nembedded: ${show(x)}\nremote:   ${show(y)}`).toBe(true);
}

// ---- reads ------------------------------------------------------------------------------------

/** The components to scan each index with, from what the db holds. */
function componentsOf(random: Random, index: IndexName, people: readonly number[], things: readonly number[]): unknown[][] {
  const e = pick(random, [...people, ...things]);
  switch (index) {
    case 'eavt':
      return [[], [e], [e, kw(pick(random, ['person/name', 'person/alias', 'person/friend', 't/tag']))], [e, kw('person/age'), int(random, 90)]];
    case 'aevt':
      return [[kw(pick(random, ['person/friend', 'person/alias', 't/parent', 'v/double', 'v/bigdec']))], [kw('person/name'), e]];
    case 'avet':
      return [[kw(pick(random, ['person/name', 'person/age', 't/age', 'v/string', 'v/bigint', 'v/instant', 'v/pair']))], [kw('person/age'), int(random, 90)], [kw('v/long'), 42]];
    case 'vaet':
      return [[], [e], [e, kw(pick(random, ['person/friend', 'person/spouse', 't/friend']))]];
  }
}

const pullPatterns = [
  '[*]',
  '[:person/name :person/age :person/alias]',
  '[:person/name {:person/friend [:person/name :person/age]}]',
  '[:person/name :person/_friend]',
  '[:person/name {:person/friend 1}]',
  '[(:person/alias :limit 1) (:person/age :default 0)]',
  '[:t/name {:t/friend ...} {:t/parent [:t/name]}]',
  '[:t/name {:t/_parent [:t/name]}]',
  '[:v/double :v/bigdec :v/bytes :v/pair :v/symbol :v/uri]',
  '[:db/id]',
];

const queryTemplates = (random: Random): Array<{ query: string; args: unknown[] }> => [
  { query: '[:find ?e ?n ?a :where [?e :person/name ?n] [?e :person/age ?a]]', args: [] },
  { query: '[:find ?n (count ?f) :where [?e :person/name ?n] [?e :person/friend ?f]]', args: [] },
  { query: '[:find [?a ...] :in $ ?min :where [_ :person/age ?a] [(>= ?a ?min)]]', args: [int(random, 90)] },
  { query: '[:find ?e ?v ?tx ?added :where [?e :person/age ?v ?tx ?added]]', args: [] },
  { query: '[:find ?e ?v :where [?e :person/visits ?v]]', args: [] },
  { query: '[:find (max ?a) (min ?a) (sum ?a) (avg ?a) :where [_ :person/age ?a]]', args: [] },
  { query: '[:find ?a ?v :where [?e :v/double ?v] [?e ?attr ?v] [?attr :db/ident ?a]]', args: [] },
  { query: '[:find ?v :where [_ :v/bigdec ?v]]', args: [] },
  { query: '[:find ?v :where [_ :v/bytes ?v]]', args: [] },
  { query: '[:find ?s ?n :where [_ :v/pair ?p] [(untuple ?p) [?s ?n]]]', args: [] },
  { query: '[:find ?e :in $ [?tag ...] :where [?e :person/tag ?tag]]', args: [[kw('tag/a'), kw('tag/b')]] },
  { query: '[:find (count ?e) . :where [?e :person/spouse]]', args: [] },
  { query: '[:find ?e ?n :where [?e :person/name ?n] (not [?e :person/alias])]', args: [] },
  { query: '[:find ?n ?a :keys name age :where [?e :person/name ?n] [?e :person/age ?a]]', args: [] },
  { query: '[:find (pull ?e [:person/name {:person/friend [:person/name]}]) :where [?e :person/age ?a] [(< ?a 30)]]', args: [] },
  { query: '[:find ?a :with ?e :where [?e :person/age ?a]]', args: [] },
  { query: '[:find [?n ?a] :in $ ?e :where [?e :person/name ?n] [?e :person/age ?a]]', args: [17592186044418] },
  { query: '[:find ?e :in $ ?v :where [?e :v/bigdec ?v]]', args: [BigDec.parse('1.50')] },
  { query: '[:find ?e :in $ ?v :where [?e :v/bigint ?v]]', args: [123456789012345678901234567890n] },
  { query: '[:find ?e :in $ ?v :where [?e :v/instant ?v]]', args: [new Date('2020-01-02T03:04:05.678Z')] },
  { query: '[:find ?e :in $ ?v :where [?e :v/double ?v]]', args: [-0] },
  { query: '[:find ?e :in $ ?v :where [?e :v/bytes ?v]]', args: [new Uint8Array([0, 1, 2, 255])] },
  { query: '[:find ?e :in $ ?v :where [?e :v/pair ?v]]', args: [[`p${int(random, 5)}`, int(random, 100) - 50]] },
  { query: '[:find ?e ?n :in $ [[?e ?n]] :where [?e :person/name ?n]]', args: [[[17592186044418, 'Ann1'], [17592186044419, 'x']]] },
  { query: '[:find (distinct ?a) (median ?a) (variance ?a) (count-distinct ?a) :where [_ :person/age ?a]]', args: [] },
  { query: '[:find (sample 2 ?a) (rand 1 ?a) :where [_ :person/age ?a] [(> ?a 1000)]]', args: [] },
  { query: '[:find ?e ?age :where [?e :person/name] [(get-else $ ?e :person/age -1) ?age]]', args: [] },
  { query: '[:find ?e ?tx :where [?e :person/name _ ?tx] [(missing? $ ?e :person/spouse)]]', args: [] },
];

async function people(db: Db): Promise<number[]> {
  return [...new Set((await collect(db.datoms('aevt', [kw('person/name')]))).map((d) => d.e))];
}

async function things(db: Db): Promise<number[]> {
  const named = (await collect(db.datoms('aevt', [kw('t/name')]))).map((d) => d.e);
  const valued = (await collect(db.datoms('aevt', [kw('v/pair')]))).map((d) => d.e);
  return [...new Set([...named, ...valued])];
}

/** Compares every kind of read on one view of each side. */
async function compareReads(sides: Sides, random: Random, view: string, embedded: Db, remote: Db): Promise<void> {
  const label = (what: string): string => `${view}: ${what}`;
  await same(sides, label('basisT and filters'), async () => [embedded.basisT, embedded.asOfT, embedded.sinceT, embedded.isHistory], async () => [remote.basisT, remote.asOfT, remote.sinceT, remote.isHistory]);
  // Entities as the current (unfiltered) state knows them: views may hide some, which must agree too.
  const ps = await people(embedded);
  const ts = await things(embedded);
  const es = ps.length + ts.length > 0 ? [...ps, ...ts] : [1];

  for (const index of ['eavt', 'aevt', 'avet', 'vaet'] as const) {
    for (const components of componentsOf(random, index, ps.length > 0 ? ps : [1], ts.length > 0 ? ts : [1])) {
      const options = random() < 0.3 ? { offset: int(random, 5), limit: 1 + int(random, 20) } : {};
      await same(sides, label(`datoms ${index} ${show(components)} ${JSON.stringify(options)}`), () => collectDatoms(embedded.datoms(index, components, options), sides), () => collectDatoms(remote.datoms(index, components, options), sides));
    }
  }
  const low = int(random, 60);
  const ranges: Array<[string, unknown, unknown]> = [['person/age', low, low + int(random, 40)], ['person/age', null, low], ['person/name', 'B', 'D'], ['t/age', low, null], ['v/long', -1, 100], ['person/nope', null, null]];
  for (const [attribute, start, end] of ranges) {
    await same(sides, label(`indexRange ${attribute} ${show(start)} ${show(end)}`), () => collectDatoms(embedded.indexRange(kw(attribute), start, end), sides), () => collectDatoms(remote.indexRange(kw(attribute), start, end), sides));
  }
  const indexPullOptions = { index: 'avet', selector: '[:person/name :person/age]', start: [kw('person/name'), pick(random, ['A', 'B', 'C', 'D'])], reverse: random() < 0.5, limit: 1 + int(random, 10) };
  await same(sides, label(`indexPull ${JSON.stringify({ ...indexPullOptions, start: show(indexPullOptions.start) })}`), () => collect(embedded.indexPull(indexPullOptions)), () => collect(remote.indexPull(indexPullOptions)));

  const rules = rulesFor('factum');
  for (let i = 0; i < 6; i++) {
    const generated = randomQuery(random);
    const args = generated.usesRules ? [rules] : [];
    await same(sides, label(`query ${generated.factum}`), () => embedded.runQuery({ query: generated.factum, args: [embedded, ...args] }), () => remote.runQuery({ query: generated.factum, args: [remote, ...args] }), sorted);
  }
  for (const { query, args } of queryTemplates(random)) {
    await same(sides, label(`query ${query} ${show(args)}`), () => embedded.runQuery({ query, args: [embedded, ...args] }), () => remote.runQuery({ query, args: [remote, ...args] }), sorted);
  }
  const paged = { query: '[:find ?e ?n :where [?e :person/name ?n]]', offset: int(random, 3), limit: 1 + int(random, 5) };
  // Paging follows the engine's result order: both sides must agree on it, so it is not sorted.
  await same(sides, label(`query paged ${JSON.stringify(paged)}`), () => embedded.runQuery({ ...paged, args: [embedded] }), () => remote.runQuery({ ...paged, args: [remote] }));
  await same(sides, label('qseq'), () => collect(embedded.runQseq({ query: '[:find ?e ?a :where [?e :person/age ?a]]', args: [embedded] })), () => collect(remote.runQseq({ query: '[:find ?e ?a :where [?e :person/age ?a]]', args: [remote] })), sorted);
  const twoSources = '[:find ?e ?old ?new :in $a $b :where [$a ?e :person/age ?old] [$b ?e :person/age ?new] [(!= ?old ?new)]]';
  await same(sides, label('query over two db values'), () => embedded.runQuery({ query: twoSources, args: [embedded.asOf(Math.max(1, embedded.basisT - 5)), embedded] }), () => remote.runQuery({ query: twoSources, args: [remote.asOf(Math.max(1, remote.basisT - 5)), remote] }), sorted);
  for (let i = 0; i < 6; i++) {
    const pattern = pick(random, pullPatterns);
    const e = pick(random, es);
    await same(sides, label(`pull ${pattern} ${e}`), () => embedded.pull(pattern, e), () => remote.pull(pattern, e));
  }
  const many = es.filter(() => random() < 0.3);
  await same(sides, label(`pullMany ${show(many)}`), () => embedded.pullMany('[:person/name :t/name {:person/friend [:person/name]}]', many), () => remote.pullMany('[:person/name :t/name {:person/friend [:person/name]}]', many));
  const e = pick(random, es);
  for (const ref of [kw('person/name'), kw('nope/nothing'), e, [kw('v/key'), `k${int(random, 6)}`], [kw('v/key'), 'nobody'], [kw('v/long'), 42]]) {
    await same(sides, label(`entid ${show(ref)}`), () => embedded.entid(ref), () => remote.entid(ref));
  }
  for (const id of [10, sides.txInstant, e]) await same(sides, label(`ident ${id}`), () => embedded.ident(id), () => remote.ident(id));
  await same(sides, label('stats'), () => embedded.stats(), () => remote.stats());
}

// ---- the run ----------------------------------------------------------------------------------

let work: string;
let node: ChildNode;
let remoteClient: Client;

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'factum-server-differential-'));
  node = await startChildNode(path.join(work, 'data'), path.join(work, 'node.log'));
  const { endpoint, system, keyFile } = node.announcement;
  remoteClient = createClient({ endpoint, system, keyFile: keyFile! });
});

afterAll(async () => {
  await remoteClient?.close();
  await node?.stop();
  await rm(work, { recursive: true, force: true });
});

/** Transacts `txData` on both sides; expects the same t, tempids and datoms, or the same error. */
async function transactBoth(sides: Sides, label: string, embedded: Connection, remote: Connection, txData: unknown): Promise<void> {
  const [a, b] = [await outcome(() => embedded.transact(txData as never)), await outcome(() => remote.transact(txData as never))];
  const report = (o: Outcome): unknown => ('value' in o ? (({ dbAfter, tempids, txData: datoms }) => ({ t: dbAfter.basisT, tempids, txData: tuples(datoms, sides) }))(o.value as Awaited<ReturnType<Connection['transact']>>) : o);
  const [x, y] = [report(a), report(b)];
  expect(ednEqual(x, y), `seed ${sides.seed}: ${label} ${show(txData)}\nembedded: ${show(x)}\nremote:   ${show(y)}`).toBe(true);
}

describe('the remote client answers as the embedded client', () => {
  it.each(SEEDS)('seed %i: transactions, then every read on every view', async (seed) => {
    const random = seeded(seed);
    const database = `diff-${seed}`;
    const embeddedClient = createClient({ storage: 'memory', indexing: false });
    try {
      await embeddedClient.createDatabase(database);
      await remoteClient.createDatabase(database);
      const [embedded, remote] = [await embeddedClient.connect(database), await remoteClient.connect(database)];
      const txInstant = (await embedded.db().entid(kw('db/txInstant')))!;
      const sides: Sides = { seed, txInstant };

      for (const schema of [schemaTx, querySchema, valueSchema]) await transactBoth(sides, 'schema', embedded, remote, schema);
      for (let i = 0; i < TRANSACTIONS; i++) {
        const roll = random();
        // The workload reads the db it changes: the embedded one's engine value (memory, no segments).
        const txData = roll < 0.6 ? nextTxData(random, (embedded.db() as EmbeddedDb).engine) : roll < 0.75 ? entitiesTx(random, `e${i}-`) : roll < 0.9 ? valuesTx(random) : pick(random, badTxData);
        await transactBoth(sides, `transaction ${i}`, embedded, remote, txData);
      }
      await same(sides, 'txRange', async () => (await collect(embedded.txRange())).map((entry) => [entry.t, tuples(entry.data, sides)]), async () => (await collect(remote.txRange())).map((entry) => [entry.t, tuples(entry.data, sides)]));
      const start = 1 + int(random, 10);
      await same(sides, `txRange from ${start}`, async () => (await collect(embedded.txRange({ start, end: start + 5 }))).map((entry) => entry.t), async () => (await collect(remote.txRange({ start, end: start + 5 }))).map((entry) => entry.t));

      const [now, there] = [await embedded.sync(), await remote.sync()];
      const t = 1 + int(random, now.basisT);
      const u = 1 + int(random, now.basisT);
      await compareReads(sides, random, 'db', now, there);
      await compareReads(sides, random, `asOf ${t}`, now.asOf(t), there.asOf(t));
      await compareReads(sides, random, `since ${u}`, now.since(u), there.since(u));
      await compareReads(sides, random, `asOf ${t} since ${u}`, now.asOf(t).since(u), there.asOf(t).since(u));
      await compareReads(sides, random, 'history', now.history(), there.history());

      // Speculative transactions, twice over, and reads of their db values.
      let [speculativeEmbedded, speculativeRemote] = [now, there];
      for (let i = 0; i < 2; i++) {
        const txData = random() < 0.7 ? nextTxData(random, (speculativeEmbedded as EmbeddedDb).engine) : entitiesTx(random, `w${i}-`);
        const [a, b] = [await speculativeEmbedded.with(txData as never), await speculativeRemote.with(txData as never)];
        await same(sides, `with ${i} ${show(txData)}`, async () => ({ t: a.dbAfter.basisT, tempids: a.tempids, txData: tuples(a.txData, sides) }), async () => ({ t: b.dbAfter.basisT, tempids: b.tempids, txData: tuples(b.txData, sides) }));
        [speculativeEmbedded, speculativeRemote] = [a.dbAfter, b.dbAfter];
        await compareReads(sides, random, `with ${i}`, speculativeEmbedded, speculativeRemote);
      }
      await compareReads(sides, random, `with, history`, speculativeEmbedded.history(), speculativeRemote.history());
    } finally {
      await embeddedClient.close();
    }
  });
});
