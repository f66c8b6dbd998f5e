// Attribute options: :as, :limit, :default, :xform (built-in and registered), legacy forms.
import { afterEach, describe, expect, it } from 'vitest';
import { kw, list, sym } from '../values/values.ts';
import { pull, registerXform, unregisterXform } from './index.ts';
import { expectError, world } from './test-db.ts';

const friends = Array.from({ length: 1203 }, (_, i) => ({ 'db/id': `f${i}`, 'person/name': `friend ${i}` }));
const data = () =>
  world([
    { 'db/id': 'ann', 'person/name': 'Ann', 'person/age': 30, 'person/aliases': ['a', 'b', 'c'], 'person/color': kw('color/red'), 'person/tags': [kw('tag/x')] },
    { 'db/id': 'bob', 'person/name': 'Bob', 'person/friend': friends.map((f) => f['db/id']) },
    ...friends,
  ]);

afterEach(() => unregisterXform('test.pull/shout'));

describe('pull :as', () => {
  it('renames with a string or a keyword', () => {
    const { db, ids } = data();
    expect(pull(db, [['person/name', 'as', 'Name'], [kw('person/age'), kw('as'), kw('years')]], ids.ann)).toEqual({ Name: 'Ann', years: 30 });
  });

  it('renames db/id and nested map specs', () => {
    const { db, ids } = data();
    expect(pull(db, [['db/id', 'as', 'id'], { ['person/friend']: ['person/name'] }], ids.ann)).toEqual({ id: ids.ann });
    expect(pull(db, [new Map([[list(kw('person/friend'), kw('as'), 'pals', kw('limit'), 1), ['person/name']]])], ids.bob)).toEqual({ pals: [{ 'person/name': 'friend 0' }] });
  });
});

describe('pull :limit', () => {
  it('defaults to 1000 values for cardinality many', () => {
    const { db, ids } = data();
    expect((pull(db, ['person/friend'], ids.bob)['person/friend'] as unknown[]).length).toBe(1000);
  });

  it('takes n or nil for all', () => {
    const { db, ids } = data();
    expect(pull(db, [['person/aliases', 'limit', 2]], ids.ann)).toEqual({ 'person/aliases': ['a', 'b'] });
    expect((pull(db, [['person/friend', 'limit', null]], ids.bob)['person/friend'] as unknown[]).length).toBe(1203);
    expect((pull(db, [list(sym('limit'), kw('person/friend'), null)], ids.bob)['person/friend'] as unknown[]).length).toBe(1203);
    expect(pull(db, [list(sym('limit'), kw('person/aliases'), 1)], ids.ann)).toEqual({ 'person/aliases': ['a'] });
  });
});

describe('pull :default', () => {
  it('stands in for a missing attribute and not for a present one', () => {
    const { db, ids } = data();
    expect(pull(db, [['person/age', 'default', 0], ['person/name', 'default', '?']], ids.bob)).toEqual({ 'person/age': 0, 'person/name': 'Bob' });
    expect(pull(db, [list(sym('default'), kw('person/age'), -1)], ids.bob)).toEqual({ 'person/age': -1 });
  });

  it('can be nil, and works under an alias', () => {
    const { db, ids } = data();
    expect(pull(db, [['person/spouse', 'default', null, 'as', 'spouse']], ids.ann)).toEqual({ spouse: null });
  });

  it('applies to nested map specs', () => {
    const { db, ids } = data();
    expect(pull(db, [new Map([[[kw('person/spouse'), kw('default'), kw('none')], ['person/name']]])], ids.ann)).toEqual({ 'person/spouse': kw('none') });
  });
});

describe('pull :xform', () => {
  it('applies built-ins to the value', () => {
    const { db, ids } = data();
    expect(pull(db, [
      [kw('person/name'), kw('xform'), sym('clojure.string/upper-case')],
      [kw('person/age'), kw('xform'), sym('clojure.core/str')],
      [kw('person/aliases'), kw('xform'), sym('count')],
      [kw('person/tags'), kw('xform'), sym('clojure.core/first')],
    ], ids.ann)).toEqual({ 'person/name': 'ANN', 'person/age': '30', 'person/aliases': 3, 'person/tags': kw('tag/x') });
  });

  it('applies to pulled refs and db/id', () => {
    const { db, ids } = data();
    const xformed = pull(db, [[kw('person/color'), kw('xform'), (ref: unknown) => (ref as { 'db/ident': unknown })['db/ident']], ['db/id', 'xform', sym('str')]], ids.ann);
    expect(xformed).toEqual({ 'person/color': kw('color/red'), 'db/id': String(ids.ann) });
  });

  it('applies after a nested pattern is pulled', () => {
    const { db, ids } = data();
    const names = (friends: unknown) => (friends as Array<Record<string, unknown>>).map((f) => f['person/name']).join(',');
    const result = pull(db, [new Map([[[kw('person/friend'), kw('xform'), names, kw('limit'), 3], ['person/name']]])], ids.bob);
    expect(result).toEqual({ 'person/friend': 'friend 0,friend 1,friend 2' });
    expect(pull(db, [new Map([[[kw('person/friend'), kw('xform'), sym('count')], ['person/name']]])], ids.bob)).toEqual({ 'person/friend': 1000 });
  });

  it('is not applied to a default', () => {
    const { db, ids } = data();
    expect(pull(db, [['person/age', 'xform', sym('inc'), 'default', 'none']], ids.bob)).toEqual({ 'person/age': 'none' });
  });

  it('uses functions registered in-process, by qualified name', () => {
    registerXform('test.pull/shout', (v) => `${String(v)}!`);
    const { db, ids } = data();
    expect(pull(db, [[kw('person/name'), kw('xform'), sym('test.pull/shout')]], ids.ann)).toEqual({ 'person/name': 'Ann!' });
  });

  it('lets an xform pull from the same db value while a pull runs', () => {
    const { db, ids } = data();
    registerXform('test.pull/shout', (friends) => (friends as Array<{ 'db/id': number }>).map((f) => pull(db, ['person/name'], f['db/id'])['person/name']));
    const result = pull(db, [{ 'person/friend': ['db/id', 'person/name'] }, [kw('person/friend'), kw('as'), 'names', kw('limit'), 2, kw('xform'), sym('test.pull/shout')]], ids.bob);
    expect(result.names).toEqual(['friend 0', 'friend 1']);
    expect((result['person/friend'] as unknown[]).length).toBe(1000);
  });

  it('reports an xform that throws with a pull/xform-failed error', () => {
    registerXform('test.pull/shout', () => {
      throw new Error('boom');
    });
    const { db, ids } = data();
    const error = expectError(() => pull(db, [[kw('person/name'), kw('xform'), sym('test.pull/shout')]], ids.ann), 'pull/xform-failed');
    expect(error.message).toContain('boom');
    expectError(() => pull(db, [[kw('person/name'), kw('xform'), sym('inc')]], ids.ann), 'pull/xform-failed');
  });

  it('refuses to register an unqualified name', () => {
    expectError(() => registerXform('shout', (v) => v), 'pull/invalid-xform');
  });
});
