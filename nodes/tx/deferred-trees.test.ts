import { describe, expect, it } from 'vitest';
import { emptyDb } from '../db/index.ts';
import { kw } from '../values/values.ts';
import { compareValues } from '../values/compare.ts';

describe('deferred trees', () => {
  it('apply a long chain of pending batches once it passes the bound, with the same result', () => {
    let db = emptyDb().with([{ 'db/ident': kw('n/v'), 'db/valueType': kw('db.type/long'), 'db/cardinality': kw('db.cardinality/many') }]).dbAfter;
    const early = [];
    // 1400 transactions of 50 datoms pass the 65,536-row bound while nothing reads AEVT.
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
});
