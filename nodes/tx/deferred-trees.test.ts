import { describe, expect, it } from 'vitest';
import { emptyDb } from '../db/index.ts';
import { kw } from '../values/values.ts';
import { compareValues } from '../values/compare.ts';
import { currentRows, treeRows, type Db } from '../db/db.ts';
import type { IndexName } from '../datom/datom.ts';
import { seededRandom } from '../util/random.ts';
import { DatomTable } from '../db/datom-table.ts';
import { ordersFor, indexNames } from '../db/index-order.ts';
import { sortedPairs, sortedRows } from './deferred-trees.ts';

describe('deferred trees', () => {
  it('flatten a long chain of pending batches and apply it when read, with the same result', () => {
    let db = emptyDb().with([{ 'db/ident': kw('n/v'), 'db/valueType': kw('db.type/long'), 'db/cardinality': kw('db.cardinality/many') }]).dbAfter;
    const early = [];
    // 1400 transactions of 50 datoms: the chain is flattened again and again (every 48 batches, into
    // flattened batches of doubling size) while nothing reads AEVT.
    for (let t = 0; t < 1400; t++) {
      db = db.with([{ 'n/v': Array.from({ length: 50 }, (_, i) => t * 50 + i) }]).dbAfter;
      if (t === 10) early.push(db);
    }
    const values = [...db.datoms('aevt', kw('n/v'))].map((d) => d.v as number);
    expect(values.length).toBe(70_000);
    expect(new Set(values).size).toBe(70_000);
    expect([...early[0]!.datoms('aevt', kw('n/v'))].length).toBe(550);
    expect([...db.datoms('avet', kw('n/v'))].map((d) => d.v)).toEqual(Array.from({ length: 70_000 }, (_, i) => i));
  });

  it('orders a large batch by value within each attribute as the AVET order does, for tuples, strings and doubles', () => {
    const one = (ident: string, type: string, extra: Record<string, unknown> = {}) => ({ 'db/ident': kw(ident), 'db/valueType': kw(`db.type/${type}`), 'db/cardinality': kw('db.cardinality/one'), ...extra });
    let db = emptyDb().with([one('x/pair', 'tuple', { 'db/tupleTypes': [kw('db.type/string'), kw('db.type/long')] }), one('x/name', 'string'), one('x/size', 'double')]).dbAfter;
    // One transaction of 700 entities (past the batch size that takes the radix and grouping
    // paths), values repeating so that ties are settled by entity.
    const names = ['b', 'a', 'ä', '', 'Z', 'ab'];
    db = db.with(Array.from({ length: 700 }, (_, i) => ({ 'x/pair': [names[i % 6]!, (i * 7) % 5], 'x/name': names[(i * 5) % 6]!, 'x/size': ((i * 11) % 9) / 4 - 1 }))).dbAfter;
    for (const ident of ['x/pair', 'x/name', 'x/size']) {
      const byEntity = [...db.datoms('aevt', kw(ident))];
      const expected = byEntity.slice().sort((x, y) => compareValues(x.v, y.v) || x.e - y.e);
      expect([...db.datoms('avet', kw(ident))].map((d) => [d.e, d.v]), ident).toEqual(expected.map((d) => [d.e, d.v]));
    }
  });

  it('answer lookups through a pending chain exactly as the applied tree does', () => {
    const random = seededRandom(5);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
    const one = (ident: string, type: string, many = false) => ({ 'db/ident': kw(ident), 'db/valueType': kw(`db.type/${type}`), 'db/cardinality': kw(`db.cardinality/${many ? 'many' : 'one'}`) });
    // Two copies of one history: `db` is only looked up through its chains; `applied` has its
    // trees applied before every lookup (reading a tree applies it).
    let db: Db = emptyDb().with([one('q/n', 'long'), one('q/tag', 'string', true), one('q/ref', 'ref', true)]).dbAfter;
    let applied: Db = emptyDb().with([one('q/n', 'long'), one('q/tag', 'string', true), one('q/ref', 'ref', true)]).dbAfter;
    const [n, tag, ref] = ['q/n', 'q/tag', 'q/ref'].map((a) => db.attribute(kw(a))!.id) as [number, number, number];
    const entities: number[] = [];
    let lookups = 0;
    for (let t = 0; t < 600; t++) {
      // Small transactions: new entities, card-one replacements, card-many adds and retractions
      // (a fact asserted and retracted within one chain included), retractEntity.
      const e = entities.length === 0 || random() < 0.2 ? 'new' : pick(entities);
      const roll = random();
      const tx: unknown[] =
        roll < 0.5 ? [['db/add', e, 'q/n', Math.floor(random() * 5)], ['db/add', e, 'q/tag', pick(['a', 'b', 'c'])]]
        : roll < 0.7 && e !== 'new' ? [['db/retract', e, 'q/tag', pick(['a', 'b', 'c'])]]
        : roll < 0.85 && entities.length > 0 ? [['db/add', e, 'q/ref', pick(entities)]]
        : e !== 'new' ? [['db/retractEntity', e]] : [['db/add', e, 'q/n', 1]];
      const report = db.with(tx);
      if (report.tempids.new !== undefined) entities.push(report.tempids.new);
      db = report.dbAfter;
      applied = applied.with(tx).dbAfter;
      const probes: Array<[IndexName, unknown[]]> = [];
      for (let k = 0; k < 3; k++) {
        const x = pick(entities);
        probes.push(['eavt', [x]], ['eavt', [x, n]], ['eavt', [x, tag, pick(['a', 'b', 'c'])]], ['aevt', [tag, x]], ['avet', [n, Math.floor(random() * 5)]], ['vaet', [x]], ['vaet', [x, ref]]);
      }
      const through = probes.map(([index, components]) => currentRows(db.state, index, components));
      const fromTrees = probes.map(([index, components]) => treeRows(applied.state.current[index], applied.state.table, index, components));
      expect(through).toEqual(fromTrees);
      lookups += through.reduce((sum, rows) => sum + rows.length, 0);
    }
    expect(lookups).toBeGreaterThan(1000);
  });

  it('apply a chain that retracts most of a tree (a rebuild) with the same datoms as one read after every transaction', () => {
    const one = (ident: string, type: string) => ({ 'db/ident': kw(ident), 'db/valueType': kw(`db.type/${type}`), 'db/cardinality': kw('db.cardinality/one') });
    const start = emptyDb().with([one('r/name', 'string'), one('r/n', 'long')]).dbAfter;
    const random = seededRandom(3);
    const report = start.with(Array.from({ length: 3000 }, (_, i) => ({ 'db/id': `p${i}`, 'r/name': `name ${i % 17}`, 'r/n': i % 101 })));
    const ids = Object.values(report.tempids);
    let lazy = report.dbAfter;
    let eager = report.dbAfter;
    void eager.state.current.aevt;
    // Retract two thirds of the people, a third by retractEntity and a third by changing a value.
    for (const e of ids) {
      const roll = random();
      const tx = roll < 0.33 ? [['db/retractEntity', e]] : roll < 0.66 ? [['db/add', e, 'r/n', 1000 + Math.floor(random() * 10)]] : null;
      if (tx === null) continue;
      lazy = lazy.with(tx).dbAfter;
      eager = eager.with(tx).dbAfter;
      for (const index of ['eavt', 'aevt', 'avet'] as const) void [eager.state.current[index], eager.state.history[index]];
    }
    const people = new Set(['r/name', 'r/n'].map((a) => start.attribute(kw(a))!.id));
    // The people's datoms (the two copies' transaction instants differ by the clock).
    const datoms = (db: Db, index: 'eavt' | 'aevt' | 'avet', history: boolean) =>
      [...(history ? db.history() : db).datoms(index)].filter((d) => people.has(d.a)).map((d) => [d.e, d.a, d.v, d.tx, d.added]);
    for (const index of ['eavt', 'aevt', 'avet'] as const) {
      expect(datoms(lazy, index, false).length).toBeGreaterThan(2000);
      expect(datoms(lazy, index, false)).toEqual(datoms(eager, index, false));
      expect(datoms(lazy, index, true)).toEqual(datoms(eager, index, true));
    }
  });

  it('sort large and small batches as the comparator does, current facts and history rows, leaving the batch as it was', () => {
    const random = seededRandom(9);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
    for (const size of [3, 40, 100, 600, 3000]) {
      const table = new DatomTable();
      const orders = ordersFor(table);
      // Facts over few entities and attributes (long ties), values of mixed types; refs for VAET.
      const facts = new Map<string, [number, number, unknown]>();
      while (facts.size < size) {
        const e = 1000 + Math.floor(random() * (size / 6 + 1));
        const a = 10 + Math.floor(random() * 4);
        const v = a === 13 ? 1000 + Math.floor(random() * 50) : pick([Math.floor(random() * 20), pick(['x', 'y', 'é', '']), kw(pick(['k', 'j'])), 2.5]);
        facts.set(`${e} ${a} ${typeof v} ${String(v)}`, [e, a, v]);
      }
      // Current: each fact once, mostly in entity order (as transactions append them).
      const entityOrder = [...facts.values()].sort((x, y) => x[0] - y[0]);
      const current = entityOrder.map(([e, a, v], n) => table.append(e, a, v, 1 + (n >> 4), true));
      // History: some facts asserted, retracted and asserted again, rows in time order.
      const history: number[] = [];
      let t = 1000;
      for (const [e, a, v] of entityOrder) {
        for (let k = 0, times = 1 + Math.floor(random() * 3); k < times; k++) history.push(table.append(e, a, v, t++, true), table.append(e, a, v, t++, false));
      }
      // History rows as retractions make them: (assertion, retraction) pairs, pairs out of order.
      const pairs: Array<[number, number]> = [];
      for (let k = 0; k < history.length; k += 2) pairs.push([history[k]!, history[k + 1]!]);
      for (let k = pairs.length - 1; k > 0; k--) {
        const j = Math.floor(random() * (k + 1));
        [pairs[k], pairs[j]] = [pairs[j]!, pairs[k]!];
      }
      const paired = pairs.flat();
      // A few rows out of place, in both.
      for (const rows of [current, history]) if (size > 40) for (let k = 0; k < size / 20; k++) rows.push(rows.splice(Math.floor(random() * rows.length), 1)[0]!);
      for (const index of indexNames) {
        const refsOnly = (rows: number[]) => (index === 'vaet' ? rows.filter((row) => table.a(row) === 13) : rows);
        for (const [rows, inTime] of [[refsOnly(current), false], [refsOnly(history), true]] as const) {
          const cmp = inTime ? orders.history[index] : orders.current[index];
          const input = rows.slice();
          expect(sortedRows(input, cmp, table, index, inTime), `${index} ${size} ${inTime ? 'history' : 'current'}`).toEqual(rows.slice().sort(cmp));
          expect(input, 'the batch itself is left as it was').toEqual(rows);
        }
        const cmp = orders.history[index];
        const pairedRows = index === 'vaet' ? paired.filter((row) => table.a(row) === 13) : paired;
        expect(sortedPairs(pairedRows, cmp, table, index), `${index} ${size} pairs`).toEqual(pairedRows.slice().sort(cmp));
        // A few pairs of a large table (their retraction rows kept in a map, not an array over the table).
        const few = pairs.slice(0, Math.ceil(pairs.length / 40)).flat().filter((row) => index !== 'vaet' || table.a(row) === 13);
        expect(sortedPairs(few, cmp, table, index), `${index} ${size} few pairs`).toEqual(few.slice().sort(cmp));
      }
    }
  });

  it('sort EAVT batches that interleave a few ascending sequences of entities as the comparator does', () => {
    const random = seededRandom(21);
    const table = new DatomTable();
    const orders = ordersFor(table);
    for (const sequences of [1, 2, 3, 4, 5]) {
      for (const size of [32, 64, 200, 511]) {
        // As a run of small transactions makes them: each sequence's entities ascend, with repeats
        // (one entity's rows over several transactions, attributes in any order); the sequences
        // interleave at random and overlap in entity ids.
        const next = Array.from({ length: sequences }, (_, s) => 1000 + s * 3);
        const rows: number[] = [];
        for (let k = 0; k < size; k++) {
          const s = Math.floor(random() * sequences);
          if (random() < 0.4) next[s]! += 1 + Math.floor(random() * 4);
          rows.push(table.append(next[s]!, 10 + Math.floor(random() * 6), Math.floor(random() * 3), 1 + k, true));
        }
        for (const [cmp, inTime] of [[orders.current.eavt, false], [orders.history.eavt, true]] as const) {
          const input = rows.slice();
          expect(sortedRows(input, cmp, table, 'eavt', inTime), `${sequences} sequences, ${size} rows`).toEqual(rows.slice().sort(cmp));
          expect(input).toEqual(rows);
        }
      }
    }
  });

  it('keep the net rows of a flattened chain whose facts come and go: cancelled within the chain, across flattenings', () => {
    const many = (ident: string, type: string) => ({ 'db/ident': kw(ident), 'db/valueType': kw(`db.type/${type}`), 'db/cardinality': kw('db.cardinality/many') });
    const start = emptyDb().with([many('f/tag', 'long'), many('f/ref', 'ref')]).dbAfter;
    const report = start.with(Array.from({ length: 40 }, (_, i) => ({ 'db/id': `e${i}`, 'f/tag': [i] })));
    const ids = Object.values(report.tempids);
    const random = seededRandom(21);
    let lazy = report.dbAfter;
    let eager = report.dbAfter;
    // 5,000 one-datom transactions (several flattenings) toggling few facts: each is asserted and
    // retracted again and again, within a flattened batch, across batches and across flattenings.
    for (let k = 0; k < 5000; k++) {
      const e = ids[Math.floor(random() * ids.length)]!;
      const attribute = random() < 0.7 ? 'f/tag' : 'f/ref';
      const v = attribute === 'f/tag' ? Math.floor(random() * 4) : ids[Math.floor(random() * 4)]!;
      const present = [...lazy.datoms('eavt', e, kw(attribute), v)].length > 0;
      const tx = [[present ? 'db/retract' : 'db/add', e, attribute, v]];
      lazy = lazy.with(tx).dbAfter;
      eager = eager.with(tx).dbAfter;
      for (const index of ['aevt', 'avet', 'vaet'] as const) void [eager.state.current[index], eager.state.history[index]];
    }
    const facts = new Set(['f/tag', 'f/ref'].map((a) => start.attribute(kw(a))!.id));
    const datoms = (db: Db, index: IndexName, history: boolean) =>
      [...(history ? db.history() : db).datoms(index)].filter((d) => facts.has(d.a)).map((d) => [d.e, d.a, d.v, d.tx, d.added]);
    for (const index of ['eavt', 'aevt', 'avet', 'vaet'] as const) {
      expect(datoms(lazy, index, true).length).toBeGreaterThan(index === 'vaet' ? 1000 : 5000);
      expect(datoms(lazy, index, false)).toEqual(datoms(eager, index, false));
      expect(datoms(lazy, index, true)).toEqual(datoms(eager, index, true));
    }
  });

  it('keep to each db value its own rows when forks of one state flatten their chains, in place or by copying', () => {
    const many = (ident: string, type: string) => ({ 'db/ident': kw(ident), 'db/valueType': kw(`db.type/${type}`), 'db/cardinality': kw('db.cardinality/many') });
    const schema = [many('g/n', 'long'), many('g/r', 'ref')];
    const facts = (db: Db) => new Set(['g/n', 'g/r'].map((a) => db.attribute(kw(a))!.id));
    // Three forks of one state, each flattening its chains over and over (every few dozen
    // transactions): the first to flatten appends to the shared flattened batch in place, the
    // others find it grown and copy. `eager` twins read their trees after every transaction.
    const grow = (eager: boolean) => {
      let db = emptyDb().with(schema).dbAfter;
      const ids = Object.values(db.with(Array.from({ length: 30 }, (_, i) => ({ 'db/id': `e${i}`, 'g/n': [i] }))).tempids);
      db = db.with(Array.from({ length: 30 }, (_, i) => ({ 'db/id': `e${i}`, 'g/n': [i] }))).dbAfter;
      const read = (x: Db) => {
        if (eager) for (const index of ['eavt', 'aevt', 'avet', 'vaet'] as const) void [x.state.current[index], x.state.history[index]];
        return x;
      };
      for (let k = 0; k < 100; k++) db = read(db.with([['db/add', ids[k % 30]!, 'g/n', 100 + k]]).dbAfter);
      const forks = [db, db, db];
      const snapshots: Db[] = [db];
      for (let k = 0; k < 300; k++) {
        forks[0] = read(forks[0]!.with([['db/add', ids[k % 30]!, 'g/n', 1000 + k]]).dbAfter);
        forks[1] = read(forks[1]!.with([['db/add', ids[k % 30]!, 'g/r', ids[(k * 7) % 30]!]]).dbAfter);
        // Retractions of facts older than the forks: removals that cancel nothing.
        if (k < 130) forks[2] = read(forks[2]!.with([['db/retract', ids[k % 30]!, 'g/n', 100 + k % 100]]).dbAfter);
        if (k === 150) snapshots.push(...forks);
        // Every state of a stretch of one fork: some are a flattened batch alone, since grown.
        if (k >= 200 && k < 260) snapshots.push(forks[0]!);
      }
      return [...forks, ...snapshots];
    };
    const lazy = grow(false);
    const eager = grow(true);
    const datoms = (db: Db, index: IndexName, history: boolean) => {
      const attributes = facts(db);
      return [...(history ? db.history() : db).datoms(index)].filter((d) => attributes.has(d.a)).map((d) => [d.e, d.a, d.v, d.tx, d.added]);
    };
    // Read in an order unlike the one they were made in: the last forks first.
    for (let k = lazy.length - 1; k >= 0; k--) {
      for (const index of ['aevt', 'avet', 'vaet', 'eavt'] as const) {
        expect(datoms(lazy[k]!, index, false), `db ${k} ${index}`).toEqual(datoms(eager[k]!, index, false));
        expect(datoms(lazy[k]!, index, true), `db ${k} ${index} history`).toEqual(datoms(eager[k]!, index, true));
      }
    }
    expect([0, 1, 2].map((k) => datoms(lazy[k]!, 'aevt', false).length)).toEqual([430, 160, 30]);
  });

  it('derive AEVT and AVET from the order EAVT sorted the same rows into, current and history, as sorting them does', () => {
    const attr = (ident: string, type: string, many = false) => ({ 'db/ident': kw(ident), 'db/valueType': kw(`db.type/${type}`), 'db/cardinality': kw(`db.cardinality/${many ? 'many' : 'one'}`) });
    const start = emptyDb().with([attr('d/name', 'string'), attr('d/tag', 'string', true), attr('d/n', 'long'), attr('d/x', 'double')]).dbAfter;
    // One large transaction (values repeating, several per entity), then retractions of many of
    // its facts in small transactions, so the history trees take a large chain of pairs. Made
    // twice, alike: one copy's trees are read EAVT first (AEVT and AVET derived), the other's
    // AVET first (each tree sorts its rows itself).
    const build = (): Db[] => {
      const random = seededRandom(17);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
      const report = start.with(Array.from({ length: 1500 }, (_, i) => ({ 'db/id': `p${i}`, 'd/name': pick(['b', 'a', 'é', '']), 'd/tag': [pick(['x', 'y']), pick(['z', 'x', 'w'])], 'd/n': Math.floor(random() * 7) - 3, 'd/x': pick([0.5, -1, 2]) })));
      let db = report.dbAfter;
      for (const e of Object.values(report.tempids).slice(0, 700)) db = db.with([random() < 0.5 ? ['db/retractEntity', e] : ['db/add', e, 'd/n', 100]]).dbAfter;
      return [report.dbAfter, db];
    };
    const derived = build();
    const sorted = build();
    const people = new Set(['d/name', 'd/tag', 'd/n', 'd/x'].map((a) => start.attribute(kw(a))!.id));
    const datoms = (d: Db, index: IndexName, history: boolean) => [...(history ? d.history() : d).datoms(index)].filter((x) => people.has(x.a)).map((x) => [x.e, x.a, x.v, x.tx, x.added]);
    // The large transaction's current trees (inserts only), then the history trees after the retractions.
    for (const [k, history] of [[0, false], [1, true]] as const) {
      const fromDerived = (['eavt', 'aevt', 'avet'] as const).map((index) => datoms(derived[k]!, index, history));
      const fromSorted = (['avet', 'aevt', 'eavt'] as const).map((index) => datoms(sorted[k]!, index, history)).reverse();
      expect(fromDerived[0]!.length).toBeGreaterThan(history ? 7000 : 5000);
      expect(fromDerived).toEqual(fromSorted);
    }
  });
});
