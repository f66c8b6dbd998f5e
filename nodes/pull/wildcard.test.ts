// Pull with `*`: every attribute, db/id, explicit specs overriding, components expanded.
import { describe, expect, it } from 'vitest';
import { kw, sym } from '../values/values.ts';
import { pull } from './index.ts';
import { world } from './test-db.ts';

const data = () =>
  world([
    { 'db/id': 'ann', 'person/name': 'Ann', 'person/aliases': ['Annie'], 'person/friend': ['bob'], 'person/color': kw('color/blue'), 'person/address': { 'db/id': 'home', 'address/street': 'Elm' } },
    { 'db/id': 'bob', 'person/name': 'Bob', 'person/friend': ['ann'] },
  ]);

describe('pull wildcard', () => {
  it('returns every attribute and db/id; refs as { db/id }, components in full', () => {
    const { db, ids } = data();
    expect(pull(db, [sym('*')], ids.ann)).toEqual({
      'db/id': ids.ann,
      'person/name': 'Ann',
      'person/aliases': ['Annie'],
      'person/friend': [{ 'db/id': ids.bob }],
      'person/color': { 'db/id': db.entid(kw('color/blue')), 'db/ident': kw('color/blue') },
      'person/address': { 'db/id': ids.home, 'address/street': 'Elm' },
    });
  });

  it('does not include reverse refs', () => {
    const { db, ids } = data();
    expect(pull(db, ['*'], ids.home)).toEqual({ 'db/id': ids.home, 'address/street': 'Elm' });
  });

  it('gives { db/id } for an entity with no datoms', () => {
    const { db } = data();
    expect(pull(db, ['*'], 4242)).toEqual({ 'db/id': 4242 });
  });

  it('lets explicit specs override the wildcard for their attribute', () => {
    const { db, ids } = data();
    expect(pull(db, ['*', { 'person/friend': ['person/name'] }, ['person/name', 'as', 'name']], ids.ann)).toEqual({
      'db/id': ids.ann,
      name: 'Ann',
      'person/aliases': ['Annie'],
      'person/friend': [{ 'person/name': 'Bob' }],
      'person/color': { 'db/id': db.entid(kw('color/blue')), 'db/ident': kw('color/blue') },
      'person/address': { 'db/id': ids.home, 'address/street': 'Elm' },
    });
  });

  it('combines with reverse specs and defaults', () => {
    const { db, ids } = data();
    expect(pull(db, ['*', 'person/_friend', ['person/age', 'default', 0]], ids.bob)).toEqual({
      'db/id': ids.bob,
      'person/name': 'Bob',
      'person/friend': [{ 'db/id': ids.ann }],
      'person/_friend': [{ 'db/id': ids.ann }],
      'person/age': 0,
    });
  });

  it('limits cardinality-many attributes to 1000 values', () => {
    const aliases = Array.from({ length: 1005 }, (_, i) => `alias-${String(i).padStart(4, '0')}`);
    const { db, ids } = world([{ 'db/id': 'x', 'person/aliases': aliases }]);
    const result = pull(db, ['*'], ids.x);
    expect(result['person/aliases']).toEqual(aliases.slice(0, 1000));
  });

  it('works on schema entities', () => {
    const { db } = data();
    const result = pull(db, ['*'], kw('person/name'));
    expect(result['db/ident']).toBe(kw('person/name'));
    expect(result['db/valueType']).toEqual({ 'db/id': db.entid(kw('db.type/string')), 'db/ident': kw('db.type/string') });
  });
});
