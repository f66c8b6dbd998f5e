import { describe, expect, it } from 'vitest';
import { kw, sym } from '../values/values.ts';
import { q } from './index.ts';
import { sorted, world } from './test-support.ts';

const { db, ids } = world();

describe('data patterns', () => {
  it('joins implicitly on shared variables', () => {
    expect(sorted(q('[:find ?n ?a :where [?e :person/name ?n] [?e :person/age ?a]]', db))).toEqual([['Ann', 30], ['Bob', 20], ['Cid', 30]]);
  });
  it('matches constants in every position', () => {
    expect(q('[:find ?e . :where [?e :person/name "Bob"]]', db)).toBe(ids.bob);
    expect(q(`[:find ?n . :where [${ids.cid} :person/name ?n]]`, db)).toBe('Cid');
  });
  it('accepts idents and lookup refs as entity and ref values', () => {
    expect(sorted(q('[:find [?n ...] :where [?e :person/color :color/red] [?e :person/name ?n]]', db))).toEqual(['Ann']);
    expect(q('[:find ?n . :where [[:person/email "bob@x"] :person/name ?n]]', db)).toBe('Bob');
    expect(sorted(q('[:find [?n ...] :where [?e :person/friend [:person/email "cid@x"]] [?e :person/name ?n]]', db))).toEqual(['Ann', 'Bob']);
  });
  it('binds the attribute as its entity id with a variable in attribute position', () => {
    const attrs = q(`[:find [?ident ...] :where [${ids.dan} ?a] [?a :db/ident ?ident]]`, db) as unknown[];
    expect(sorted(attrs)).toEqual([kw('person/email'), kw('person/name'), kw('person/parent')]);
  });
  it('ignores _ and keeps unrelated patterns as a product', () => {
    expect(q('[:find (count ?e) . :where [?e :person/name _]]', db)).toBe(4);
    expect((q('[:find ?a ?b :where [?a :person/age 20] [?b :person/age 30]]', db) as unknown[]).length).toBe(2);
  });
  it('requires equal values for a variable repeated in one pattern', () => {
    const { db: selfDb } = world('[{:db/id "x" :person/name "X"} {:db/id "y" :person/name "Y" :person/friend "y"} {:db/id "z" :person/friend "x"}]');
    expect(q('[:find [?e ...] :where [?e :person/friend ?e]]', selfDb)).toHaveLength(1);
  });
  it('regression: a group of variables left out of :find still empties the result when empty', () => {
    expect(q('[:find ?e :where [?e :person/name "Ann"] [?x :person/age ?a] (not [?x :person/age ?a])]', db)).toEqual([]);
    expect(q('[:find ?e :where [?e :person/name "Ann"] [?x :person/age ?a]]', db)).toEqual([[ids.ann]]);
  });
  it('gives the same answer whatever the clause order', () => {
    const a = q('[:find ?n :where [?e :person/name ?n] [?e :person/age 30] [?e :person/friend ?f] [?f :person/age 20]]', db);
    const b = q('[:find ?n :where [?f :person/age 20] [?e :person/friend ?f] [?e :person/age 30] [?e :person/name ?n]]', db);
    expect(sorted(a)).toEqual(sorted(b));
    expect(a).toEqual([['Ann']]);
  });
  it('reads a string attribute in JS data as a keyword', () => {
    expect(q([kw('find'), sym('?e'), sym('.'), kw('where'), [sym('?e'), 'person/name', 'Bob']], db)).toBe(ids.bob);
  });
  it('matches keyword values', () => {
    expect(sorted(q('[:find [?n ...] :where [?e :person/tags :b] [?e :person/name ?n]]', db))).toEqual(['Ann', 'Bob']);
  });
  it('returns nothing for an unknown entity constant', () => {
    expect(q('[:find ?n :where [[:person/email "nobody"] :person/name ?n]]', db)).toEqual([]);
  });
});

describe('collections as sources', () => {
  it('matches tuples by position', () => {
    const rel = [[1, 'a'], [2, 'b'], [3, 'a']];
    expect(sorted(q('[:find [?x ...] :in $ :where [?x "a"]]', rel))).toEqual([1, 3]);
  });
  it('joins a collection with a db', () => {
    const salaries = [['Ann', 10], ['Bob', 20]];
    const result = q('[:find ?e ?s :in $db $s :where [$db ?e :person/name ?n] [$s ?n ?s]]', db, salaries);
    expect(sorted(result)).toEqual(sorted([[ids.ann, 10], [ids.bob, 20]]));
  });
});

describe('several databases', () => {
  it('scopes each pattern to its source', () => {
    const other = world('[{:db/id "z" :person/name "Ann" :person/age 99}]').db;
    expect(q('[:find ?a1 ?a2 :in $1 $2 :where [$1 ?e1 :person/name ?n] [$2 ?e2 :person/name ?n] [$1 ?e1 :person/age ?a1] [$2 ?e2 :person/age ?a2]]', db, other)).toEqual([[30, 99]]);
  });
});
