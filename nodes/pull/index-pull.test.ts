// indexPull over AVET and AEVT: start positions, reverse, offset and limit, against a model.
import { describe, expect, it } from 'vitest';
import { kw } from '../values/values.ts';
import { indexPull } from './index.ts';
import { world } from './test-db.ts';

const ages = [30, 25, 30, 41, 19, 25];
const data = () =>
  world([
    ...ages.map((age, i) => ({ 'db/id': `p${i}`, 'person/name': `p${i}`, 'person/age': age, 'person/aliases': [`x${i}`, `y${i}`] })),
    { 'db/id': 'boss', 'person/name': 'boss', 'person/manager': 'p0' },
  ]);

/** The model: (age, entity) pairs in AVET order. */
function avetModel(ids: Record<string, number>): Array<[number, number, string]> {
  return ages.map((age, i) => [age, ids[`p${i}`]!, `p${i}`] as [number, number, string]).sort((x, y) => x[0] - y[0] || x[1] - y[1]);
}

describe('indexPull', () => {
  it('walks AVET of an attribute from its start', () => {
    const { db, ids } = data();
    const model = avetModel(ids);
    expect(indexPull(db, { index: 'avet', selector: ['person/name'], start: [kw('person/age')] })).toEqual(model.map(([, , name]) => ({ 'person/name': name })));
    expect(indexPull(db, { index: ':avet', selector: ['person/name', 'person/age'], start: ['person/age', 30] })).toEqual(
      model.filter(([age]) => age >= 30).map(([age, , name]) => ({ 'person/name': name, 'person/age': age })),
    );
  });

  it('starts at an (value, entity) position', () => {
    const { db, ids } = data();
    const model = avetModel(ids);
    const from = model.findIndex(([age, e]) => age === 30 && e === ids.p2);
    expect(indexPull(db, { index: 'avet', selector: ['person/name'], start: ['person/age', 30, ids.p2] })).toEqual(model.slice(from).map(([, , name]) => ({ 'person/name': name })));
  });

  it('walks backwards from the start, inclusive', () => {
    const { db, ids } = data();
    const model = avetModel(ids);
    expect(indexPull(db, { index: 'avet', selector: ['person/name'], start: ['person/age', 30], reverse: true })).toEqual(
      model.filter(([age]) => age <= 30).reverse().map(([, , name]) => ({ 'person/name': name })),
    );
    expect(indexPull(db, { index: 'avet', selector: ['person/name'], start: ['person/age'], reverse: true }).length).toBe(ages.length);
  });

  it('applies offset and limit', () => {
    const { db, ids } = data();
    const model = avetModel(ids);
    expect(indexPull(db, { index: 'avet', selector: ['person/name'], start: ['person/age'], offset: 2, limit: 3 })).toEqual(model.slice(2, 5).map(([, , name]) => ({ 'person/name': name })));
    expect(indexPull(db, { index: 'avet', selector: ['person/name'], start: ['person/age'], limit: 0 })).toEqual([]);
  });

  it('walks AEVT by entity, one result per datom', () => {
    const { db, ids } = data();
    const entities = ages.map((_, i) => ids[`p${i}`]!).sort((x, y) => x - y);
    const result = indexPull(db, { index: 'aevt', selector: ['db/id'], start: ['person/aliases'] });
    expect(result).toEqual(entities.flatMap((e) => [{ 'db/id': e }, { 'db/id': e }]));
    expect(indexPull(db, { index: 'aevt', selector: ['db/id'], start: ['person/aliases', entities[3]] })).toEqual(entities.slice(3).flatMap((e) => [{ 'db/id': e }, { 'db/id': e }]));
    expect(indexPull(db, { index: 'aevt', selector: ['db/id'], start: ['person/aliases', entities[3], 'y0'] }).length).toBe(5);
  });

  it('starts at a ref value', () => {
    const { db, ids } = data();
    expect(indexPull(db, { index: 'avet', selector: ['person/name'], start: ['person/manager', ids.p0] })).toEqual([{ 'person/name': 'boss' }]);
  });
});
