import { describe, expect, it } from 'vitest';
import { q } from './index.ts';
import { expectCode, sorted, world } from './test-support.ts';

const { db } = world();

describe('rules', () => {
  const rules = `[[(adult ?e) [?e :person/age ?a] [(>= ?a 21)]]
                  [(named ?e ?n) [?e :person/name ?n]]
                  [(red-or-young ?e) [?e :person/color :color/red]]
                  [(red-or-young ?e) [?e :person/age ?a] [(< ?a 25)]]]`;
  it('calls a rule with one branch', () => {
    expect(sorted(q('[:find [?n ...] :in $ % :where (adult ?e) (named ?e ?n)]', db, rules))).toEqual(['Ann', 'Cid']);
  });
  it('unions the branches of a rule', () => {
    expect(sorted(q('[:find [?n ...] :in $ % :where (red-or-young ?e) (named ?e ?n)]', db, rules))).toEqual(['Ann', 'Bob']);
  });
  it('accepts constants as arguments', () => {
    expect(q('[:find ?e . :in $ % :where (named ?e "Cid")]', db, rules)).toBeTypeOf('number');
  });
  it('takes rules as data as well as text', () => {
    expect(sorted(q('[:find [?n ...] :in $ % :where (adult ?e) (named ?e ?n)]', db, q('[:find ?r . :in ?r]', rules)))).toEqual(['Ann', 'Cid']);
  });
  it('refuses an unbound required variable', () => {
    const required = '[[(older [?e] ?a) [?e :person/age ?a]]]';
    expectCode(() => q('[:find ?a :in $ % :where (older ?e ?a)]', db, required), 'query/insufficient-binding');
    expect(q('[:find ?a . :in $ % :where [?e :person/name "Bob"] (older ?e ?a)]', db, required)).toBe(20);
  });
  it('waits to call a rule until its required variables are bound', () => {
    const required = '[[(older [?e] ?a) [?e :person/age ?a]]]';
    expect(q('[:find ?a . :in $ % :where (older ?e ?a) [?e :person/name "Bob"]]', db, required)).toBe(20);
  });
  it('refuses unknown rules and wrong arity', () => {
    expectCode(() => q('[:find ?e :in $ % :where (nope ?e)]', db, rules), 'query/unknown-rule');
    expectCode(() => q('[:find ?e :where (nope ?e)]', db), 'query/unknown-rule');
    expectCode(() => q('[:find ?e :in $ % :where (adult ?e ?x)]', db, rules), 'query/wrong-arity');
  });
  it('unifies a variable given twice to a rule call (DataScript does not)', () => {
    const reach = '[[(reach ?a ?b) [?a :person/friend ?b]] [(reach ?a ?b) [?a :person/friend ?c] (reach ?c ?b)]]';
    expect(q('[:find ?e :in $ % :where (reach ?e ?e)]', db, reach)).toEqual([]);
  });
  it('calls rules from or and not', () => {
    expect(sorted(q('[:find [?n ...] :in $ % :where (named ?e ?n) (not (adult ?e))]', db, rules))).toEqual(['Bob', 'Dan']);
  });
});
