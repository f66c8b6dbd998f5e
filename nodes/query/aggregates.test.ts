import { afterAll, describe, expect, it } from 'vitest';
import { q, registerAggregate, unregister } from './index.ts';
import { expectCode, sorted, world } from './test-support.ts';

const { db } = world();

describe('aggregates', () => {
  const table: [string, unknown][] = [
    ['(count ?a)', 2],
    ['(count-distinct ?a)', 2],
    ['(sum ?a)', 50],
    ['(avg ?a)', 25],
    ['(min ?a)', 20],
    ['(max ?a)', 30],
    ['(median ?a)', 25],
    ['(variance ?a)', 25],
    ['(stddev ?a)', 5],
    ['(min 1 ?a)', [20]],
    ['(max 5 ?a)', [30, 20]],
  ];
  it.each(table)('%s over the set of ages', (aggregate, value) => {
    expect(q(`[:find ${aggregate} . :where [?e :person/age ?a]]`, db)).toEqual(value);
  });
  it('keeps duplicates distinguished by :with', () => {
    expect(q('[:find (sum ?a) . :with ?e :where [?e :person/age ?a]]', db)).toBe(80);
    expect(q('[:find (count ?a) . :with ?e :where [?e :person/age ?a]]', db)).toBe(3);
    expect(q('[:find (median ?a) . :with ?e :where [?e :person/age ?a]]', db)).toBe(30);
  });
  it('groups by the other find elements', () => {
    expect(sorted(q('[:find ?a (count ?e) :where [?e :person/age ?a]]', db))).toEqual([[20, 1], [30, 2]]);
  });
  it('gives distinct values as a set', () => {
    expect([...(q('[:find (distinct ?a) . :where [?e :person/age ?a]]', db) as Set<unknown>)].sort()).toEqual([20, 30]);
  });
  it('samples and picks at random from the values', () => {
    const sample = q('[:find (sample 2 ?n) . :where [?e :person/name ?n]]', db) as string[];
    expect(sample.length).toBe(2);
    expect(new Set(sample).size).toBe(2);
    expect(['Ann', 'Bob', 'Cid', 'Dan']).toContain(q('[:find (rand ?n) . :where [?e :person/name ?n]]', db));
    expect((q('[:find (rand 3 ?n) . :where [?e :person/name ?n]]', db) as unknown[]).length).toBe(3);
  });
  it('works on strings for min and max', () => {
    expect(q('[:find [(min ?n) (max ?n)] :where [?e :person/name ?n]]', db)).toEqual(['Ann', 'Dan']);
  });
  it('returns no rows when nothing matches', () => {
    expect(q('[:find (count ?e) :where [?e :person/age 99]]', db)).toEqual([]);
    expect(q('[:find (count ?e) . :where [?e :person/age 99]]', db)).toBe(null);
  });
  it('refuses unknown aggregates', () => expectCode(() => q('[:find (nope ?a) :where [?e :person/age ?a]]', db), 'query/unknown-aggregate'));
  it('refuses a bad count argument', () => expectCode(() => q('[:find (max -1 ?a) :where [?e :person/age ?a]]', db), 'query/invalid-input'));
});

describe('user aggregates', () => {
  afterAll(() => unregister('my.app/longest'));
  it('calls a registered aggregate with the bag of values', () => {
    registerAggregate('my.app/longest', (values) => [...values].sort((a, b) => String(b).length - String(a).length)[0]);
    expect(q('[:find (my.app/longest ?s) . :in [?s ...]]', ['a', 'abc', 'ab'])).toBe('abc');
  });
});
