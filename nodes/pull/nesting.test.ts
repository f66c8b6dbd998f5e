// Pull with map specs: following refs with nested patterns.
import { describe, expect, it } from 'vitest';
import { kw } from '../values/values.ts';
import { pull } from './index.ts';
import { world } from './test-db.ts';

const data = () =>
  world([
    { 'db/id': 'city', 'city/name': 'Oslo' },
    { 'db/id': 'ann', 'person/name': 'Ann', 'person/friend': ['bob', 'cy'], 'person/spouse': 'bob', 'person/color': kw('color/red'), 'person/address': { 'db/id': 'home', 'address/street': 'Elm', 'address/city': 'city' } },
    { 'db/id': 'bob', 'person/name': 'Bob', 'person/age': 40, 'person/friend': ['cy'] },
    { 'db/id': 'cy', 'person/name': 'Cy' },
  ]);

describe('pull nested map specs', () => {
  it('pulls card-many refs with a nested pattern', () => {
    const { db, ids } = data();
    expect(pull(db, ['person/name', { 'person/friend': ['person/name', 'person/age'] }], ids.ann)).toEqual({
      'person/name': 'Ann',
      'person/friend': [{ 'person/name': 'Bob', 'person/age': 40 }, { 'person/name': 'Cy' }],
    });
  });

  it('pulls card-one refs with a nested pattern', () => {
    const { db, ids } = data();
    expect(pull(db, [{ 'person/spouse': ['person/name'] }], ids.ann)).toEqual({ 'person/spouse': { 'person/name': 'Bob' } });
  });

  it('nests several levels', () => {
    const { db, ids } = data();
    expect(pull(db, [{ 'person/friend': ['person/name', { 'person/friend': ['person/name'] }] }], ids.ann)).toEqual({
      'person/friend': [{ 'person/name': 'Bob', 'person/friend': [{ 'person/name': 'Cy' }] }, { 'person/name': 'Cy' }],
    });
  });

  it('gives {} for a nested entity with none of the attributes', () => {
    const { db, ids } = data();
    expect(pull(db, [{ 'person/friend': ['person/age'] }], ids.ann)).toEqual({ 'person/friend': [{ 'person/age': 40 }, {}] });
  });

  it('pulls an enum target with [:db/ident]', () => {
    const { db, ids } = data();
    expect(pull(db, [{ 'person/color': ['db/ident'] }], ids.ann)).toEqual({ 'person/color': { 'db/ident': kw('color/red') } });
  });

  it('nests into components and through them', () => {
    const { db, ids } = data();
    expect(pull(db, [{ 'person/address': ['address/street', { 'address/city': ['city/name'] }] }], ids.ann)).toEqual({
      'person/address': { 'address/street': 'Elm', 'address/city': { 'city/name': 'Oslo' } },
    });
  });

  it('uses nested wildcards', () => {
    const { db, ids } = data();
    expect(pull(db, [{ 'person/spouse': ['*'] }], ids.ann)).toEqual({
      'person/spouse': { 'db/id': ids.bob, 'person/name': 'Bob', 'person/age': 40, 'person/friend': [{ 'db/id': ids.cy }] },
    });
  });

  it('reads EDN maps as map specs', () => {
    const { db, ids } = data();
    expect(pull(db, [new Map([[kw('person/spouse'), [kw('person/name')]]])], ids.ann)).toEqual({ 'person/spouse': { 'person/name': 'Bob' } });
  });
});
