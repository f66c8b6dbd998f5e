import { describe, expect, it } from 'vitest';
import { seededRandom } from '../util/random.ts';
import { isTableKey, NumberMap, NumberSet } from './number-table.ts';

/** Keys near 0, near entity ids (2^44 and up) and near 2^53: every range the tables serve. */
function key(r: () => number): number {
  const base = [0, 17592186044416, Number.MAX_SAFE_INTEGER - 5000][Math.floor(r() * 3)]!;
  return base + Math.floor(r() * 3000);
}

describe('NumberSet and NumberMap', () => {
  for (const seed of [1, 2, 3]) {
    it(`agree with Set and Map over seeded keys (seed ${seed})`, () => {
      const r = seededRandom(seed);
      const set = new NumberSet();
      const map = new NumberMap();
      const referenceSet = new Set<number>();
      const referenceMap = new Map<number, number>();
      for (let i = 0; i < 5000; i++) {
        const k = key(r);
        expect(set.add(k)).toBe(!referenceSet.has(k));
        referenceSet.add(k);
        if (map.get(k) === -1) {
          expect(referenceMap.has(k)).toBe(false);
          map.setNew(k, i);
          referenceMap.set(k, i);
        }
        expect(map.get(k)).toBe(referenceMap.get(k));
      }
      expect(set.size).toBe(referenceSet.size);
      expect(map.size).toBe(referenceMap.size);
      expect(set.values().sort((a, b) => a - b)).toEqual([...referenceSet].sort((a, b) => a - b));
      for (const [k, v] of referenceMap) expect(map.get(k)).toBe(v);
      expect(map.get(12345678901)).toBe(-1);
    });
  }
  it('takes only safe non-negative integers as keys', () => {
    expect([0, 1, 2 ** 53 - 1].every(isTableKey)).toBe(true);
    expect([-1, 0.5, 2 ** 53, NaN, '1', 1n].some(isTableKey)).toBe(false);
  });
});

describe('empty tables', () => {
  it('answer lookups before any key is added', () => {
    expect(new NumberMap().get(7)).toBe(-1);
    expect(new NumberSet().values()).toEqual([]);
    const set = new NumberSet();
    expect(set.add(0)).toBe(true);
    expect(set.add(0)).toBe(false);
  });
});
