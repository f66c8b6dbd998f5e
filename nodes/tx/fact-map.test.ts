import { describe, expect, it } from 'vitest';
import type { Attribute } from '../db/database.ts';
import { valueKey } from '../values/compare.ts';
import { kw } from '../values/values.ts';
import type { Fact } from './apply.ts';
import { EntityAttributeMap, FactMap } from './fact-map.ts';

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

const attributes = [10, 11, 12, 13].map((id) => ({ id, ident: kw(`a${id}`) }) as unknown as Attribute);
// Values of one attribute share a type, as in a real schema; equal values written differently;
// two attributes with values in common.
const valuesOf: Record<number, unknown[]> = { 10: [1, 2, 1n, 3], 11: ['x', 'y', 'z'], 12: [new Date(5), new Date(5), new Date(6)], 13: [NaN, Number.NaN, 0, -0, 1.5, 1, 2] };

describe('FactMap against a Map keyed by strings', () => {
  // Few keys keep the map in its scanning mode (up to 32 facts) or move it back and forth across
  // the bound; many keys take it to its maps early.
  for (const [seed, entities, deleteShare] of [[1, 4, 0.3], [2, 4, 0.3], [3, 4, 0.3], [4, 4, 0.3], [5, 1, 0.5], [6, 2, 0.45], [7, 1, 0.3]] as const) {
    it(`random sets and deletes keep order and membership, seed ${seed}, ${entities} entities`, () => {
      const random = seeded(seed);
      const facts = new FactMap<Fact>();
      const model = new Map<string, Fact>();
      const key = (e: number, a: number, v: unknown) => `${e} ${a} ${typeof valueKey(v)} ${String(valueKey(v))}`;
      for (let step = 0; step < 400; step++) {
        const e = Math.floor(random() * entities);
        const attribute = attributes[Math.floor(random() * attributes.length)]!;
        const choices = valuesOf[attribute.id]!;
        const v = choices[Math.floor(random() * choices.length)];
        if (random() < deleteShare) {
          facts.delete(e, attribute.id, v);
          model.delete(key(e, attribute.id, v));
        } else {
          const fact = { e, attribute, v };
          facts.set(fact);
          model.set(key(e, attribute.id, v), fact);
        }
        expect(facts.size).toBe(model.size);
        expect(facts.has(e, attribute.id, v)).toBe(model.has(key(e, attribute.id, v)));
        expect(facts.get(e, attribute.id, v)).toBe(model.get(key(e, attribute.id, v)));
      }
      expect(facts.values()).toEqual([...model.values()]);
    });
  }
});

describe('EntityAttributeMap', () => {
  it('keeps one value per entity and attribute', () => {
    const map = new EntityAttributeMap<string>();
    map.set(1, 10, 'a');
    map.set(1, 11, 'b');
    map.set(1, 10, 'c');
    expect(map.get(1, 10)).toBe('c');
    expect(map.has(1, 11)).toBe(true);
    expect(map.has(2, 10)).toBe(false);
    expect(map.get(2, 10)).toBeUndefined();
  });

  it('agrees with a Map keyed by strings across its bound of scanned values', () => {
    const random = seeded(9);
    const map = new EntityAttributeMap<number>();
    const model = new Map<string, number>();
    for (let step = 0; step < 300; step++) {
      const e = Math.floor(random() * 5);
      const a = 10 + Math.floor(random() * 4);
      if (random() < 0.5) {
        map.set(e, a, step);
        model.set(`${e} ${a}`, step);
      }
      expect(map.has(e, a)).toBe(model.has(`${e} ${a}`));
      expect(map.get(e, a)).toBe(model.get(`${e} ${a}`));
      expect(map.get(a, e)).toBe(model.get(`${a} ${e}`));
    }
  });
});
