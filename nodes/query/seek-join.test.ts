import { describe, expect, it } from 'vitest';
import { seededRandom } from '../util/random.ts';
import { readEdn } from '../edn/reader.ts';
import { emptyDb } from '../db/index.ts';
import { explain } from './index.ts';
import { schemaText, sorted } from './test-support.ts';

interface Person { name: string; age: number | null; tags: string[] }

function generate(seed: number, count: number): Person[] {
  const r = seededRandom(seed);
  return Array.from({ length: count }, () => ({
    name: ['A', 'B', 'C'][Math.floor(r() * 3)]!,
    age: r() < 0.3 ? null : Math.floor(r() * 5),
    tags: ['x', 'y', 'z'].filter(() => r() < 0.4),
  }));
}

function build(persons: readonly Person[]) {
  let db = emptyDb().with(readEdn(schemaText)).dbAfter;
  const data = persons.map((p, i) => {
    const m: Record<string, unknown> = { 'db/id': `p${i}`, 'person/name': p.name };
    if (p.age !== null) m['person/age'] = p.age;
    if (p.tags.length > 0) m['person/tags'] = p.tags.map((t) => readEdn(`:${t}`));
    return m;
  });
  const report = db.with(data);
  db = report.dbAfter;
  return { db, ids: persons.map((_, i) => report.tempids[`p${i}`]!) };
}

describe('seek join', () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    it(`joins on ?e in entity order as a reference model does (seed ${seed})`, () => {
      const persons = generate(seed, 300);
      const { db, ids } = build(persons);
      const run = explain('[:find ?e ?t ?a :where [?e :person/name "A"] [?e :person/tags ?t] [?e :person/age ?a]]', db);
      const expected: unknown[] = [];
      persons.forEach((p, i) => {
        if (p.name !== 'A' || p.age === null) return;
        for (const t of p.tags) expected.push([ids[i], readEdn(`:${t}`), p.age]);
      });
      expect(sorted(run.result)).toEqual(sorted(expected));
      expect(run.plan.some((s) => s.method.startsWith('seek join'))).toBe(true);
    });
  }
  it('matches a constant value in AVET order and keeps entities without the value out', () => {
    const persons = generate(9, 200);
    const { db, ids } = build(persons);
    const run = explain('[:find ?e :where [?e :person/name "B"] [?e :person/age 3]]', db);
    const expected = persons.flatMap((p, i) => (p.name === 'B' && p.age === 3 ? [[ids[i]]] : []));
    expect(sorted(run.result)).toEqual(sorted(expected));
    expect(run.plan[1]!.method).toBe('seek join AVET[a v] in entity order');
  });
});
