import { describe, expect, it } from 'vitest';
import { q, qseq, query } from './index.ts';
import { sorted, world } from './test-support.ts';

const { db, ids } = world();

describe('find specs', () => {
  it('relation: a set of tuples', () => expect(sorted(q('[:find ?a :where [_ :person/age ?a]]', db))).toEqual([[20], [30]]));
  it('collection', () => expect(sorted(q('[:find [?a ...] :where [_ :person/age ?a]]', db))).toEqual([20, 30]));
  it('tuple: one row or null', () => {
    expect(q('[:find [?n ?a] :where [?e :person/name ?n] [?e :person/age 20]  [?e :person/age ?a]]', db)).toEqual(['Bob', 20]);
    expect(q('[:find [?n ?a] :where [?e :person/name ?n] [?e :person/age 99] [?e :person/age ?a]]', db)).toBe(null);
  });
  it('scalar: the value or null', () => {
    expect(q('[:find ?n . :where [?e :person/age 20] [?e :person/name ?n]]', db)).toBe('Bob');
    expect(q('[:find ?n . :where [?e :person/age 99] [?e :person/name ?n]]', db)).toBe(null);
  });
  it(':keys, :strs and :syms give objects', () => {
    expect(q('[:find ?n ?a :keys name age :where [?e :person/name ?n] [?e :person/age 20] [?e :person/age ?a]]', db)).toEqual([{ name: 'Bob', age: 20 }]);
    expect(q('[:find ?n :strs name :where [?e :person/age 20] [?e :person/name ?n]]', db)).toEqual([{ name: 'Bob' }]);
    expect(q('[:find ?n :syms name :where [?e :person/age 20] [?e :person/name ?n]]', db)).toEqual([{ name: 'Bob' }]);
  });
  it('removes duplicates a blank or a missing value position would leave', () => {
    expect(q('[:find ?e :where [?e :person/tags _]]', db)).toHaveLength(2);
    expect(q('[:find ?e :where [?e :person/tags]]', db)).toHaveLength(2);
    expect(q('[:find ?t :in [?t ...]]', ['a', 'a', 'b'])).toHaveLength(2);
  });
  it(':with keeps rows a set over more variables', () => {
    expect(q('[:find ?a :with ?e :where [?e :person/age ?a]]', db)).toHaveLength(3);
  });
  it('pull elements pull each entity', () => {
    const result = q('[:find (pull ?e [:person/name {:person/friend [:person/name]}]) :where [?e :person/age 20]]', db);
    expect(result).toEqual([[{ 'person/name': 'Bob', 'person/friend': [{ 'person/name': 'Cid' }] }]]);
  });
  it('a pull pattern may be an input', () => {
    expect(q('[:find (pull ?e pattern) . :in $ pattern :where [?e :person/age 20]]', db, '[:person/name]')).toEqual({ 'person/name': 'Bob' });
    expect(q('[:find (pull $d ?e ?p) . :in $d ?p :where [$d ?e :person/age 20]]', db, '[:person/age]')).toEqual({ 'person/age': 20 });
  });
  it('pull combines with aggregates', () => {
    const result = q('[:find (pull ?e [:person/name]) (count ?f) :where [?e :person/friend ?f]]', db);
    expect(sorted((result as [Record<string, string>, number][]).map(([p, n]) => [p['person/name'], n]))).toEqual([['Ann', 2], ['Bob', 1]]);
  });
  it('accepts the map form', () => expect(q('{:find [?n .] :in [$ ?a] :where [[?e :person/age ?a] [?e :person/name ?n]]}', db, 20)).toBe('Bob'));
  it('names entities as ids', () => expect(q('[:find ?e . :where [?e :person/name "Ann"]]', db)).toBe(ids.ann));
});

describe('offset, limit and qseq', () => {
  it('applies offset and limit to the rows', () => {
    const all = q('[:find ?n :where [_ :person/name ?n]]', db) as unknown[];
    expect(query({ query: '[:find ?n :where [_ :person/name ?n]]', args: [db], offset: 1, limit: 2 })).toEqual(all.slice(1, 3));
    expect(query({ query: '[:find ?n :where [_ :person/name ?n]]', args: [db], limit: -1 })).toEqual(all);
  });
  it('qseq yields rows lazily, pulling one at a time', () => {
    const iterator = qseq('[:find (pull ?e [:person/name]) :where [?e :person/age]]', db)[Symbol.iterator]();
    const first = iterator.next();
    expect(first.done).toBe(false);
    expect(Object.keys((first.value as unknown[])[0] as object)).toEqual(['person/name']);
    expect([...qseq('[:find [?a ...] :where [_ :person/age ?a]]', db)].sort()).toEqual([20, 30]);
  });
});
