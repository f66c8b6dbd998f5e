import { describe, expect, it } from 'vitest';
import { q } from './index.ts';
import { expectCode, sorted, world } from './test-support.ts';

const { db } = world();

describe('not', () => {
  it('removes rows matching the body', () => {
    expect(sorted(q('[:find [?n ...] :where [?e :person/name ?n] (not [?e :person/age 30])]', db))).toEqual(['Bob', 'Dan']);
  });
  it('keeps variables used only inside the not local to it', () => {
    // people nobody names as a friend
    expect(sorted(q('[:find [?n ...] :where [?e :person/name ?n] (not [?x :person/friend ?e])]', db))).toEqual(['Ann', 'Dan']);
  });
  it('runs after the variables it joins on are bound, whatever the order written', () => {
    expect(sorted(q('[:find [?n ...] :where (not [?e :person/age 30]) [?e :person/name ?n]]', db))).toEqual(['Bob', 'Dan']);
  });
  it('supports several clauses in the body', () => {
    expect(sorted(q('[:find [?n ...] :where [?e :person/name ?n] (not [?e :person/friend ?f] [?f :person/age 20])]', db))).toEqual(['Bob', 'Cid', 'Dan']);
  });
});

describe('not-join', () => {
  it('joins only on the named variables', () => {
    expect(sorted(q('[:find [?n ...] :where [?e :person/name ?n] (not-join [?e] [?e :person/friend ?f] [?f :person/age 30])]', db))).toEqual(['Cid', 'Dan']);
  });
  it('needs its variables bound', () => {
    expectCode(() => q('[:find ?e :where (not-join [?x] [?x :person/age 30]) [?e :person/name]]', db), 'query/insufficient-binding');
  });
});

describe('or', () => {
  it('unions branches', () => {
    expect(sorted(q('[:find [?n ...] :where [?e :person/name ?n] (or [?e :person/age 20] [?e :person/parent _])]', db)).length).toBe(3);
    expect(sorted(q('[:find [?n ...] :where (or [?e :person/name "Ann"] [?e :person/name "Dan"]) [?e :person/name ?n]]', db))).toEqual(['Ann', 'Dan']);
  });
  it('supports and branches', () => {
    expect(sorted(q('[:find [?n ...] :where [?e :person/name ?n] (or (and [?e :person/age 30] [?e :person/salary 50.0]) [?e :person/age 20])]', db))).toEqual(['Bob', 'Cid']);
  });
  it('binds its variables when nothing outside binds them', () => {
    expect(sorted(q('[:find [?e ...] :where (or [?e :person/age 20] [?e :person/email "dan@x"])]', db)).length).toBe(2);
  });
});

describe('or-join', () => {
  it('joins on the named variables, the others staying local', () => {
    expect(sorted(q('[:find [?n ...] :where [?e :person/name ?n] (or-join [?e] [?e :person/friend ?f] [?e :person/age 20])]', db))).toEqual(['Ann', 'Bob']);
  });
  it('requires bound variables in [[?x]]', () => {
    expect(sorted(q('[:find [?n ...] :where (or-join [[?e]] [?e :person/age 20] [?e :person/email "dan@x"]) [?e :person/name ?n]]', db))).toEqual(['Bob', 'Dan']);
  });
  it('refuses a branch that does not bind a joined variable', () => {
    expectCode(() => q('[:find ?e ?x :where (or-join [?e ?x] [?e :person/age ?x] [?e :person/name "Dan"])]', db), 'query/insufficient-binding');
  });
  it('runs against a named source', () => {
    expect(sorted(q('[:find [?n ...] :in $d :where [$d ?e :person/name ?n] ($d or [?e :person/age 20] [?e :person/email "dan@x"])]', db))).toEqual(['Bob', 'Dan']);
  });
});
