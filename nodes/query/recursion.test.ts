import { describe, expect, it } from 'vitest';
import { readEdn } from '../edn/reader.ts';
import { q } from './index.ts';
import { sorted, world } from './test-support.ts';

const ancestors = `[[(ancestor ?x ?y) [?x :person/parent ?y]]
                    [(ancestor ?x ?y) [?x :person/parent ?z] (ancestor ?z ?y)]]`;

/** A chain of n people, each the parent of the next, plus a cycle of friends. */
function chain(n: number): ReturnType<typeof world> {
  const people = Array.from({ length: n }, (_, i) => `{:db/id "p${i}" :person/name "p${i}" ${i > 0 ? `:person/parent "p${i - 1}"` : ''} :person/friend "p${(i + 1) % n}"}`);
  return world(`[${people.join(' ')}]`);
}

/** The transitive closure computed directly, as a reference. */
function closure(edges: [unknown, unknown][]): string[] {
  const result = new Set<string>();
  const next = new Map<unknown, unknown[]>();
  for (const [a, b] of edges) next.set(a, [...(next.get(a) ?? []), b]);
  for (const [start] of edges) {
    const seen = new Set<unknown>();
    const stack = [...(next.get(start) ?? [])];
    while (stack.length > 0) {
      const x = stack.pop();
      if (seen.has(x)) continue;
      seen.add(x);
      result.add(JSON.stringify([start, x]));
      stack.push(...(next.get(x) ?? []));
    }
  }
  return [...result].sort();
}

describe('recursive rules', () => {
  it('finds ancestors of one person', () => {
    const { db } = world();
    expect(sorted(q('[:find [?n ...] :in $ % :where [?d :person/name "Dan"] (ancestor ?d ?a) [?a :person/name ?n]]', db, ancestors))).toEqual(['Ann', 'Bob', 'Cid']);
  });
  it('computes the full transitive closure on a chain', () => {
    const { db } = chain(40);
    const result = q('[:find ?x ?y :in $ % :where (ancestor ?x ?y)]', db, ancestors) as unknown[];
    expect(result.length).toBe((40 * 39) / 2);
  });
  it('terminates on cycles and matches a reference closure', () => {
    const { db } = chain(12);
    const rules = '[[(reach ?x ?y) [?x :person/friend ?y]] [(reach ?x ?y) (reach ?x ?z) (reach ?z ?y)]]';
    const result = q('[:find ?x ?y :in $ % :where (reach ?x ?y)]', db, rules) as [number, number][];
    const edges = q('[:find ?x ?y :where [?x :person/friend ?y]]', db) as [number, number][];
    expect(result.map((r) => JSON.stringify(r)).sort()).toEqual(closure(edges));
    expect(result.length).toBe(144);
  });
  it('evaluates mutual recursion', () => {
    const { db } = chain(10);
    const rules = `[[(even ?x ?y) [?x :person/parent ?y]] [(even ?x ?y) (odd ?x ?z) [?z :person/parent ?y]]
                    [(odd ?x ?y) (even ?x ?z) [?z :person/parent ?y]]]`;
    const evens = q('[:find ?x ?y :in $ % :where (even ?x ?y)]', db, rules) as unknown[];
    // chains of odd length: lengths 1, 3, 5, 7, 9 → 9 + 7 + 5 + 3 + 1
    expect(evens.length).toBe(25);
  });
  it('uses bound arguments to explore only what is reachable', () => {
    const { db } = chain(200);
    const result = q('[:find [?n ...] :in $ % :where [?d :person/name "p5"] (ancestor ?d ?a) [?a :person/name ?n]]', db, readEdn(ancestors));
    expect(sorted(result)).toEqual(['p0', 'p1', 'p2', 'p3', 'p4']);
  });
});
