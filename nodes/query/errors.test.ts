import { describe, expect, it } from 'vitest';
import { readEdn } from '../edn/reader.ts';
import { isFactumError } from '../util/errors.ts';
import { kw } from '../values/values.ts';
import { q, query } from './index.ts';
import { expectCode, world } from './test-support.ts';

const { db } = world();

describe('errors', () => {
  const table: [string, unknown[], string][] = [
    ['[:find ?e :where [?e :no/such "x"]]', [db], 'query/unknown-attribute'],
    ['[:find ?e :where [?e :person/name] [(nope ?e)]]', [db], 'query/unknown-function'],
    ['[:find ?x :where [?e :person/name] [(inc ?y) ?x]]', [db], 'query/unbound-variable'],
    ['[:find ?e :in $ ?x :where [?e :person/name]]', [db], 'query/wrong-arity'],
    ['[:find ?e :in $a :where [$b ?e :person/name]]', [db], 'query/unknown-source'],
    ['[:find ?e :where [?e :person/age ?a] [(< ?a "x" 3)]]', [db], 'query/wrong-arity'],
    ['[:find ?e :where [?e :person/name ?n] [(+ ?n 1) ?x]]', [db], 'query/function-failed'],
    ['[:find ?e :where [?e :person/name ?n] (not-join [?q] [?q :person/age 1])]', [db], 'query/insufficient-binding'],
    ['[:find ?e :in $ % :where (r ?e)]', [db, '[[(r ?e) [?x :person/name]]]'], 'query/insufficient-binding'],
    ['[:find ?e :in $ % :where (r ?e)]', [db, '[[r [?e :person/name]]]'], 'query/syntax'],
    ['[:find (pull ?e [:person/name]) :in $ :where [?e :person/name]]', [[[1, kw('person/name')]]], 'query/unknown-source'],
  ];
  it.each(table)('%s', (text, inputs, code) => expectCode(() => q(text, ...inputs), code as never));

  it('says what was wrong, the value and what was expected', () => {
    try {
      q('[:find ?e :where [?e :no/such "x"]]', db);
    } catch (error) {
      expect(isFactumError(error)).toBe(true);
      expect((error as Error).message).toContain(':no/such');
      expect((error as Error).message).toMatch(/expected/);
      return;
    }
    throw new Error('no error');
  });
  it('reports malformed EDN from the reader', () => expectCode(() => q('[:find ?e :where [?e', db), 'edn/syntax'));
  it('refuses a non-query', () => expectCode(() => q(42 as never, db), 'query/syntax'));
  it('refuses bad options', () => expectCode(() => query({ query: '[:find ?e :where [?e :person/name]]', args: [db], timeout: -5 }), 'query/invalid-input'));
  it('changes nothing when it fails', () => {
    const before = q('[:find ?n :where [_ :person/name ?n]]', db);
    expectCode(() => q('[:find ?e :where [?e :person/name] [(nope ?e)]]', db), 'query/unknown-function');
    expect(q('[:find ?n :where [_ :person/name ?n]]', db)).toEqual(before);
  });
});

describe('timeout', () => {
  it('interrupts a long query and says so', () => {
    // The closure of a 3000-node cycle has 9 million pairs: far more than 50 ms of work.
    const edges = Array.from({ length: 3000 }, (_, i) => [i, (i + 1) % 3000]);
    const rules = '[[(reach ?x ?y) [?x ?y]] [(reach ?x ?y) [?x ?z] (reach ?z ?y)]]';
    const started = Date.now();
    expectCode(() => query({ query: '[:find (count ?x) :in $ % :where (reach ?x ?y)]', args: [edges, rules], timeout: 50 }), 'query/timeout');
    expect(Date.now() - started).toBeLessThan(30_000);
  });
  it('lets a quick query finish', () => {
    expect(query({ query: readEdn('[:find ?n . :where [?e :person/age 20] [?e :person/name ?n]]'), args: [db], timeout: 10_000 })).toBe('Bob');
  });
});
