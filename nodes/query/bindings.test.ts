import { describe, expect, it } from 'vitest';
import { kw } from '../values/values.ts';
import { q } from './index.ts';
import { expectCode, sorted, world } from './test-support.ts';

const { db, ids } = world();

describe(':in bindings', () => {
  it('binds a scalar', () => expect(q('[:find ?e . :in $ ?n :where [?e :person/name ?n]]', db, 'Bob')).toBe(ids.bob));
  it('binds a tuple', () => {
    expect(q('[:find ?e . :in $ [?n ?a] :where [?e :person/name ?n] [?e :person/age ?a]]', db, ['Ann', 30])).toBe(ids.ann);
  });
  it('binds a collection', () => {
    expect(sorted(q('[:find [?a ...] :in $ [?n ...] :where [?e :person/name ?n] [?e :person/age ?a]]', db, ['Ann', 'Bob']))).toEqual([20, 30]);
  });
  it('binds a relation', () => {
    const result = q('[:find ?n ?x :in $ [[?n ?x]] :where [?e :person/name ?n]]', db, [['Ann', 1], ['Bob', 2], ['Zed', 3]]);
    expect(sorted(result)).toEqual([['Ann', 1], ['Bob', 2]]);
  });
  it('binds without a db', () => {
    expect(q('[:find ?x ?y :in ?x ?y]', 1, 2)).toEqual([[1, 2]]);
    expect(sorted(q('[:find ?x :in [?x ...]]', [3, 1, 3]))).toEqual([[1], [3]]);
  });
  it('resolves an ident or lookup ref bound to an entity variable', () => {
    expect(q('[:find ?n . :in $ ?e :where [?e :person/name ?n]]', db, [kw('person/email'), 'cid@x'])).toBe('Cid');
    expect(sorted(q('[:find [?n ...] :in $ ?c :where [?e :person/color ?c] [?e :person/name ?n]]', db, kw('color/blue')))).toEqual(['Bob']);
  });
  it('binds an attribute given as input', () => {
    expect(q('[:find ?v . :in $ ?a :where [?e ?a ?v] [?e :person/name "Bob"]]', db, kw('person/age'))).toBe(20);
  });
  it('gives no rows for an empty collection', () => {
    expect(q('[:find ?e :in $ [?n ...] :where [?e :person/name ?n]]', db, [])).toEqual([]);
  });
  it('refuses inputs that do not fit', () => {
    expectCode(() => q('[:find ?e :in $ [?n ...] :where [?e :person/name ?n]]', db, 'Ann'), 'query/invalid-input');
    expectCode(() => q('[:find ?e :in $ [?a ?b] :where [?e :person/name ?a]]', db, ['x']), 'query/invalid-input');
    expectCode(() => q('[:find ?e :in $ ?n :where [?e :person/name ?n]]', db), 'query/wrong-arity');
    expectCode(() => q('[:find ?e :in $ :where [?e :person/name]]', 42), 'query/invalid-input');
  });
});
