import { describe, expect, it } from 'vitest';
import { explain, parse, query } from './index.ts';
import { world } from './test-support.ts';

const { db } = world();

describe('explain', () => {
  it('lists each step with its method and rows, the most selective first', () => {
    const run = explain('[:find ?n :where [?e :person/name ?n] [?e :person/email "bob@x"]]', db);
    expect(run.result).toEqual([['Bob']]);
    expect(run.plan.map((s) => s.clause)).toEqual(['[?e :person/email "bob@x"]', '[?e :person/name ?n]']);
    expect(run.plan[0]).toMatchObject({ method: 'scan AVET[a v]', rowsIn: 1, rowsOut: 1 });
    expect(run.plan[1]!.method).toMatch(/lookup EAVT|scan AEVT|seek join AEVT/);
    expect(run.text.split('\n')).toHaveLength(2);
  });
  it('is available as an option of query', () => {
    const run = query({ query: '[:find ?n . :where [?e :person/age 20] [?e :person/name ?n]]', args: [db], explain: true }) as { result: unknown; plan: unknown[] };
    expect(run.result).toBe('Bob');
    expect(run.plan).toHaveLength(2);
  });
  it('shows nested steps of not and or one level deeper', () => {
    const run = explain('[:find ?n :where [?e :person/name ?n] (not [?e :person/age 30])]', db);
    expect(run.plan.some((s) => s.depth === 1 && s.clause === '[?e :person/age 30]')).toBe(true);
  });
});

describe('caching', () => {
  it('parses a query text once', () => {
    const text = '[:find ?e :where [?e :person/name "cached"]]';
    expect(parse(text)).toBe(parse(text));
  });
  it('parses query data once per object', () => {
    const data = parse('[:find ?e :where [?e :person/name]]');
    expect(data.find.kind).toBe('find-relation');
  });
});
