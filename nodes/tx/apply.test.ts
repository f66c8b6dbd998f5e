// Large transactions take apply's batch path (rows grouped by attribute before sorting): every
// index, current and history, must come out in its order and hold exactly the expected datoms.
import { describe, expect, it } from 'vitest';
import type { Datom, IndexName } from '../datom/datom.ts';
import { emptyDb, type Db } from '../db/index.ts';
import { seededRandom } from '../storage/fault.ts';
import { compareValues } from '../values/compare.ts';
import { kw } from '../values/values.ts';

const attribute = (ident: string, type: string, many = false) => ({
  'db/ident': kw(ident),
  'db/valueType': kw(`db.type/${type}`),
  'db/cardinality': kw(`db.cardinality/${many ? 'many' : 'one'}`),
});

type Triple = [number, number, unknown];

const orders: Record<IndexName, (x: Triple, y: Triple) => number> = {
  eavt: (x, y) => x[0] - y[0] || x[1] - y[1] || compareValues(x[2], y[2]),
  aevt: (x, y) => x[1] - y[1] || x[0] - y[0] || compareValues(x[2], y[2]),
  avet: (x, y) => x[1] - y[1] || compareValues(x[2], y[2]) || x[0] - y[0],
  vaet: (x, y) => compareValues(x[2], y[2]) || x[1] - y[1] || x[0] - y[0],
};

function userTriples(db: Db, index: IndexName, ids: Set<number>): Triple[] {
  const keep = (d: Datom) => ids.has(d.a);
  return [...db.datoms(index)].filter(keep).map((d): Triple => [d.e, d.a, d.v]);
}

function build(seed: number): { db: Db; ids: Set<number>; expected: Triple[]; ref: number } {
  const random = seededRandom(seed);
  let db = emptyDb().with([
    attribute('p/name', 'string'),
    attribute('p/age', 'long'),
    attribute('p/tag', 'string', true),
    attribute('p/friend', 'ref', true),
    { ...attribute('p/pair', 'tuple'), 'db/tupleType': kw('db.type/long') },
    attribute('p/kind', 'keyword'),
  ]).dbAfter;
  const ids = new Set(['p/name', 'p/age', 'p/tag', 'p/friend', 'p/pair', 'p/kind'].map((a) => db.attribute(kw(a))!.id));
  // Enough rows that every index's batch takes the radix path (512 rows and more), VAET included.
  const maps = Array.from({ length: 400 }, (_, i) => ({
    'db/id': `p${i}`,
    'p/name': `n${Math.floor(random() * 20)}`,
    'p/age': Math.floor(random() * 50),
    'p/pair': [Math.floor(random() * 3), Math.floor(random() * 3)],
    'p/kind': kw(`kind/k${Math.floor(random() * 4)}`),
    'p/tag': Array.from({ length: Math.floor(random() * 4) }, () => `t${Math.floor(random() * 6)}`),
    ...(i > 0 ? { 'p/friend': [`p${Math.floor(random() * i)}`, `p${Math.floor(random() * i)}`] } : {}),
  }));
  const report = db.with(maps);
  db = report.dbAfter;
  const expected: Triple[] = [];
  for (const d of report.txData) if (ids.has(d.a)) expected.push([d.e, d.a, d.v]);
  return { db, ids, expected, ref: db.attribute(kw('p/friend'))!.id };
}

describe('apply: large batches', () => {
  for (const seed of [1, 2, 3]) {
    it(`every index holds a big transaction's datoms in order, seed ${seed}`, () => {
      const { db, ids, expected, ref } = build(seed);
      expect(expected.filter((t) => t[1] === ref).length).toBeGreaterThan(512);
      for (const index of ['eavt', 'aevt', 'avet', 'vaet'] as const) {
        const want = (index === 'vaet' ? expected.filter((t) => t[1] === ref) : expected).slice().sort(orders[index]);
        expect(userTriples(db, index, ids), index).toEqual(want);
      }
    });

    it(`a big retraction moves rows to history in time order, seed ${seed}`, () => {
      const { db, ids, expected } = build(seed);
      const entities = [...new Set(expected.map((t) => t[0]))].filter((_, i) => i % 2 === 0);
      const after = db.with(entities.map((e) => ['db/retractEntity', e])).dbAfter;
      const gone = new Set(entities);
      for (const index of ['eavt', 'aevt', 'avet'] as const) {
        const current = userTriples(after, index, ids);
        for (let i = 1; i < current.length; i++) expect(orders[index](current[i - 1]!, current[i]!)).toBeLessThan(0);
        expect(current.some((t) => gone.has(t[0]))).toBe(false);
        const history = [...after.history().datoms(index)].filter((d) => ids.has(d.a));
        for (let i = 1; i < history.length; i++) {
          const x = history[i - 1]!;
          const y = history[i]!;
          const c = orders[index]([x.e, x.a, x.v], [y.e, y.a, y.v]) || x.tx - y.tx || Number(y.added) - Number(x.added);
          expect(c).toBeLessThan(0);
        }
        expect(history.filter((d) => !d.added).length).toBe(expected.length - userTriples(after, 'eavt', ids).length);
      }
    });
  }

  it('history built on first read equals history read after every transaction, across branches', () => {
    const base = emptyDb().with([attribute('q/n', 'long'), attribute('q/tag', 'string', true)]).dbAfter;
    // Entities are tracked here, not read from an index, so the lazy path reads no AEVT or AVET.
    const living = new Map<Db, number[]>([[base, []]]);
    const step = (db: Db, i: number): Db => {
      const random = seededRandom(100 + i); // the same choices for both paths
      const people = living.get(db)!;
      const forms: unknown[] = [{ 'db/id': 'new', 'q/n': i, 'q/tag': [`t${i % 3}`, `t${(i + 1) % 3}`] }];
      let gone = -1;
      if (people.length > 0 && random() < 0.6) forms.push(['db/retractEntity', (gone = people[Math.floor(random() * people.length)]!)]);
      const kept = people.filter((e) => e !== gone);
      if (kept.length > 1) forms.push(['db/add', kept[0]!, 'q/n', 1000 + i]);
      const report = db.with(forms, { now: new Date(1_000_000 + i) });
      living.set(report.dbAfter, [...kept, report.tempids.new!]);
      return report.dbAfter;
    };
    const all = (db: Db) => (['eavt', 'aevt', 'avet', 'vaet'] as const).map((index) => [...db.datoms(index)].map((d) => [d.e, d.a, d.v, d.tx]));
    const history = (db: Db) => [...db.history().datoms('eavt')].map((d) => [d.e, d.a, d.v, d.tx, d.added]);
    const asOf = (db: Db, t: number) => [...db.asOf(t).datoms('aevt')].map((d) => [d.e, d.a, d.v, d.tx]);
    // Eager: read history after every transaction. Lazy: read it only at the end.
    let eager = base;
    let lazy = base;
    const lazyStates: Db[] = [];
    const eagerStates: Db[] = [];
    for (let i = 0; i < 60; i++) {
      eager = step(eager, i);
      eagerStates.push(eager);
      history(eager);
      all(eager);
      lazy = step(lazy, i);
      lazyStates.push(lazy);
    }
    expect(all(lazy)).toEqual(all(eager));
    expect(history(lazy)).toEqual(history(eager));
    // A branch from a state whose history was never read, and one from a state read midway.
    const middle = lazyStates[20]!;
    const branchUnread = middle.with([['db/retractEntity', living.get(middle)![0]!]], { now: new Date(2_000_000) }).dbAfter;
    const late = lazyStates[40]!;
    history(late);
    const branchRead = late.with([{ 'q/n': -1 }], { now: new Date(2_000_000) }).dbAfter;
    expect(history(branchUnread).length).toBeGreaterThan(history(middle).length);
    const eagerMiddle = eagerStates[20]!;
    const eagerBranch = eagerMiddle.with([['db/retractEntity', living.get(eagerMiddle)![0]!]], { now: new Date(2_000_000) }).dbAfter;
    expect(all(branchUnread)).toEqual(all(eagerBranch));
    expect(history(branchUnread)).toEqual(history(eagerBranch));
    expect(history(branchRead).filter((d) => !d[4]).length).toBe(history(late).filter((d) => !d[4]).length);
    for (const t of [5, 20, 33, 55]) expect(asOf(lazy, base.basisT + t)).toEqual(asOf(eager, base.basisT + t));
    expect(history(lazyStates[59]!)).toEqual(history(eager));
  });
});
