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
  // Datomic's query reference, Required Bindings: "If the required variables are not bound,
  // Datomic will report an incorrect anomaly" (:db.error/insufficient-binding). Issue 20: factum
  // skipped the check whenever the call was never reached (an empty relation before it), and
  // answered.
  describe('refuses an unbound required variable wherever the call is (issue 20)', () => {
    const required = `[[(older [?e] ?a) [?e :person/age ?a]]
                       [(outer ?x ?a) (older ?x ?a)]
                       [(two ?x ?a ?b) (outer ?x ?a) (older ?y ?b)]
                       [(via-or ?x ?a) (or-join [?x ?a] (older ?x ?a) (and [?x :person/name "Nobody"] [?x :person/age ?a]))]]`;
    const refused: Array<[string, string]> = [
      ['when the rest of the query matches nothing', '[:find ?a :in $ % :where [?x :person/name "Nobody"] (older ?e ?a)]'],
      ['with a blank in the required position', '[:find ?a :in $ % :where [?e :person/name] (older _ ?a)]'],
      ['called from another rule', '[:find ?a :in $ % :where (outer ?e ?a)]'],
      ['called from another rule with the other arguments bound', '[:find ?a ?b :in $ % :where [?e :person/name "Bob"] (two ?e ?a ?b)]'],
      ['called from an or branch', '[:find ?a :in $ % :where (or (older ?e ?a) [?e :person/age ?a])]'],
      ['called from an or-join branch when nothing matches first', '[:find ?e :in $ % :where [?e :person/name "Nobody"] (or-join [?e] (older ?z ?e) [?e :person/age 20])]'],
      ['called from an or-join in a rule', '[:find ?a :in $ % :where (via-or ?e ?a)]'],
      ['called from a not-join body', '[:find ?n :in $ % :where [?x :person/name ?n] (not-join [?x] (older ?e ?a) [?x :person/age ?a])]'],
    ];
    it.each(refused)('%s', (_, text) => expectCode(() => q(text, db, required), 'query/insufficient-binding'));
    it('names the variable', () => {
      expect(() => q('[:find ?a :in $ % :where [?x :person/name "Nobody"] (older ?e ?a)]', db, required)).toThrow(/older requires \?e bound/);
    });
    it('answers when the call binds it, directly or through another rule', () => {
      expect(q('[:find ?a . :in $ % :where [?e :person/name "Bob"] (outer ?e ?a)]', db, required)).toBe(20);
      expect(q('[:find ?a . :in $ % :where [?e :person/name "Nobody"] (older ?e ?a)]', db, required)).toBe(null);
      expect(q('[:find [?a ...] :in $ % [?e ...] :where (older ?e ?a)]', db, required, [])).toEqual([]);
    });
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
