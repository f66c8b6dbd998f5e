import { describe, expect, it } from 'vitest';
import { q, explain } from './index.ts';
import { expectCode, sorted, world } from './test-support.ts';

const { db } = world();

describe('predicates', () => {
  const table: [string, string[]][] = [
    ['[(< ?a 30)]', ['Bob']],
    ['[(<= ?a 30)]', ['Ann', 'Bob', 'Cid']],
    ['[(> ?a 20)]', ['Ann', 'Cid']],
    ['[(>= 20 ?a)]', ['Bob']],
    ['[(= ?a 30)]', ['Ann', 'Cid']],
    ['[(!= ?a 30)]', ['Bob']],
    ['[(not= ?a 30)]', ['Bob']],
    ['[(even? ?a)]', ['Ann', 'Bob', 'Cid']],
    ['[(odd? ?a)]', []],
    ['[(starts-with? ?n "A")]', ['Ann']],
    ['[(clojure.string/ends-with? ?n "d")]', ['Cid']],
    ['[(includes? ?n "o")]', ['Bob']],
    ['[(re-find #"^[AB]" ?n)]', ['Ann', 'Bob']],
    ['[(pos? ?a)]', ['Ann', 'Bob', 'Cid']],
  ];
  it.each(table)('%s', (predicate, names) => {
    const text = predicate.replace('#"^[AB]"', '"^[AB]"');
    expect(sorted(q(`[:find [?n ...] :where [?e :person/name ?n] [?e :person/age ?a] ${text}]`, db))).toEqual(names);
  });
  it('pushes a predicate down to where its variables are bound', () => {
    const plan = explain('[:find ?n :where [?e :person/name ?n] [(> ?a 25)] [?e :person/age ?a]]', db).plan;
    const order = plan.map((s) => s.clause);
    expect(order.indexOf('[(> ?a 25)]')).toBe(order.indexOf('[?e :person/age ?a]') + 1);
  });
  it('narrows a scan to a value range of AVET, with the same results', () => {
    const text = '[:find [?a ...] :in $ ?min :where [_ :person/age ?a] [(>= ?a ?min)] [(< ?a 31)]]';
    const run = explain(text, db, 25);
    expect(run.text).toContain('range scan');
    expect(run.result).toEqual([30]);
    const cases: [string, number[]][] = [['[(> ?a 20)]', [30]], ['[(>= ?a 20)]', [20, 30]], ['[(< ?a 30)]', [20]], ['[(<= ?a 30)]', [20, 30]], ['[(< 20 ?a)]', [30]], ['[(> 30 ?a)]', [20]]];
    for (const [predicate, ages] of cases) expect(sorted(q(`[:find [?a ...] :where [_ :person/age ?a] ${predicate}]`, db))).toEqual(ages);
  });
  it('compares across rows (a value join)', () => {
    const result = q('[:find ?n1 ?n2 :where [?e1 :person/age ?a1] [?e2 :person/age ?a2] [(< ?a1 ?a2)] [?e1 :person/name ?n1] [?e2 :person/name ?n2]]', db);
    expect(sorted(result)).toEqual([['Bob', 'Ann'], ['Bob', 'Cid']]);
  });
  it('uses Datomic truthiness: only nil and false fail', () => {
    expect(q('[:find ?x . :in ?x :where [(identity ?x)]]', 0)).toBe(0);
    expect(q('[:find ?x . :in ?x :where [(identity ?x)]]', '')).toBe('');
    expect(q('[:find ?x . :in ?x :where [(identity ?x)]]', false)).toBe(null);
  });
  it('needs its variables bound', () => {
    expectCode(() => q('[:find ?e :where [?e :person/name] [(> ?zzz 1)]]', db), 'query/unbound-variable');
  });
  it('takes exactly two arguments for a range predicate', () => {
    expectCode(() => q('[:find ?e :where [?e :person/age ?a] [(< 1 ?a 40)]]', db), 'query/wrong-arity');
  });
  it('refuses unknown predicates', () => {
    expectCode(() => q('[:find ?e :where [?e :person/age ?a] [(bogus? ?a)]]', db), 'query/unknown-function');
  });
});
