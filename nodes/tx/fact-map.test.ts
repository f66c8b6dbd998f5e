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
// Values of one attribute share a type, as in a real schema; equal values written differently.
const valuesOf: Record<number, unknown[]> = { 10: [1, 2, 1n, 3], 11: ['x', 'y', 'z'], 12: [new Date(5), new Date(5), new Date(6)], 13: [NaN, Number.NaN, 0, -0, 1.5] };

describe('FactMap against a Map keyed by strings', () => {
  for (const seed of [1, 2, 3, 4]) {
    it(`random sets and deletes keep order and membership, seed ${seed}`, () => {
      const random = seeded(seed);
      const facts = new FactMap<Fact>();
      const model = new Map<string, Fact>();
      const key = (e: number, a: number, v: unknown) => `${e} ${a} ${typeof valueKey(v)} ${String(valueKey(v))}`;
      for (let step = 0; step < 400; step++) {
        const e = Math.floor(random() * 4);
        const attribute = attributes[Math.floor(random() * attributes.length)]!;
        const choices = valuesOf[attribute.id]!;
        const v = choices[Math.floor(random() * choices.length)];
        if (random() < 0.3) {
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
});
