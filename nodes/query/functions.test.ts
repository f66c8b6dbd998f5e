import { afterAll, describe, expect, it } from 'vitest';
import { kw } from '../values/values.ts';
import { q, registerFunction, unregister } from './index.ts';
import { expectCode, sorted, world } from './test-support.ts';

const { db, ids } = world();

describe('function expressions', () => {
  it('binds a scalar', () => {
    expect(sorted(q('[:find ?n ?b :where [?e :person/age ?a] [(inc ?a) ?b] [?e :person/name ?n]]', db))).toEqual([['Ann', 31], ['Bob', 21], ['Cid', 31]]);
  });
  it('binds a tuple', () => expect(q('[:find ?a ?b :where [(vector 1 2) [?a ?b]]]', db)).toEqual([[1, 2]]));
  it('binds a collection', () => expect(sorted(q('[:find ?x :where [(ground [1 2 3]) [?x ...]]]', db))).toEqual([[1], [2], [3]]));
  it('binds a relation', () => expect(sorted(q('[:find ?a ?b :where [(ground [[1 :x] [2 :y]]) [[?a ?b]]]]', db))).toEqual([[1, kw('x')], [2, kw('y')]]));
  it('drops rows for which the function returns nil', () => {
    expect(sorted(q('[:find ?n ?m :where [?e :person/name ?n] [(re-find "^(A|B)" ?n) ?m]]', db))).toEqual([['Ann', ['A', 'A']], ['Bob', ['B', 'B']]]);
  });
  it('unifies with a variable bound elsewhere', () => {
    expect(q('[:find ?b :in ?b :where [(+ 1 1) ?b]]', 2)).toEqual([[2]]);
    expect(q('[:find ?b :in ?b :where [(+ 1 1) ?b]]', 3)).toEqual([]);
    expect(sorted(q('[:find ?n :where [?e :person/age ?a] [(- ?a 10) ?b] [?f :person/age ?b] [?e :person/name ?n]]', db))).toEqual([['Ann'], ['Cid']]);
  });
  const table: [string, unknown][] = [
    ['(+ 1 2 3)', 6], ['(- 10 4)', 6], ['(* 2 3)', 6], ['(/ 7 2)', 3], ['(/ 7.0 2.5)', 2.8], ['(quot -7 2)', -3], ['(rem -7 2)', -1], ['(mod -7 2)', 1],
    ['(max 1 5 3)', 5], ['(min 4 2 8)', 2], ['(dec 1)', 0], ['(str "a" 1 :b/c)', 'a1:b/c'], ['(subs "hello" 1 3)', 'el'],
    ['(count "abc")', 3], ['(upper-case "ab")', 'AB'], ['(lower-case "AB")', 'ab'], ['(tuple 1 "a")', [1, 'a']],
    ['(re-matches "a+" "aaa")', 'aaa'], ['(namespace :a/b)', 'a'], ['(name :a/b)', 'b'], ['(identity 4)', 4],
  ];
  it.each(table)('%s', (expression, value) => expect(q(`[:find ?x . :where [${expression} ?x]]`, db)).toEqual(value));
  it('unpacks a tuple with untuple', () => expect(q('[:find ?a ?b :where [(tuple 1 2) ?t] [(untuple ?t) [?a ?b]]]', db)).toEqual([[1, 2]]));
});

describe('database functions', () => {
  it('get-else gives the value or the default', () => {
    expect(sorted(q('[:find ?n ?a :where [?e :person/name ?n] [(get-else $ ?e :person/age -1) ?a]]', db))).toEqual([['Ann', 30], ['Bob', 20], ['Cid', 30], ['Dan', -1]]);
  });
  it('get-some gives the first attribute with a value', () => {
    const result = q(`[:find [?a ?v] :where [(get-some $ ${ids.dan} :person/age :person/name) [?a ?v]]]`, db) as unknown[];
    expect(result[1]).toBe('Dan');
    expect(result[0]).toBe(db.attribute(kw('person/name'))!.id);
  });
  it('missing? finds entities without the attribute', () => {
    expect(q('[:find [?n ...] :where [?e :person/name ?n] [(missing? $ ?e :person/age)]]', db)).toEqual(['Dan']);
  });
  it('refuses get-else on a cardinality-many attribute', () => {
    expectCode(() => q('[:find ?x :where [?e :person/name] [(get-else $ ?e :person/friend 0) ?x]]', db), 'query/function-failed');
  });
  it('runs a nested query with q', () => {
    const result = q('[:find ?n ?c :where [?e :person/name ?n] [(q [:find (count ?f) . :in $ ?e :where [?e :person/friend ?f]] $ ?e) ?c]]', db);
    expect(sorted(result)).toEqual([['Ann', 2], ['Bob', 1]]);
  });
});

describe('user functions', () => {
  afterAll(() => {
    unregister('my.app/initial');
    unregister('my.app/boom');
  });
  it('calls registered functions', () => {
    registerFunction('my.app/initial', (s) => (s as string)[0]);
    expect(sorted(q('[:find [?i ...] :where [?e :person/name ?n] [(my.app/initial ?n) ?i]]', db))).toEqual(['A', 'B', 'C', 'D']);
  });
  it('reports a failing function', () => {
    registerFunction('my.app/boom', () => {
      throw new Error('boom');
    });
    expectCode(() => q('[:find ?x :where [?e :person/name ?n] [(my.app/boom ?n) ?x]]', db), 'query/function-failed');
  });
  it('refuses to replace a built-in', () => expectCode(() => registerFunction('str', () => 1), 'query/invalid-input'));
  it('refuses unknown functions', () => expectCode(() => q('[:find ?x :where [(no.such/fn 1) ?x]]', db), 'query/unknown-function'));
});
