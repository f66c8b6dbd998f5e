import { describe, expect, it } from 'vitest';
import { emptyDb } from '../db/index.ts';
import { kw } from '../values/values.ts';

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
});
