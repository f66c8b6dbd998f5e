// stableOrder against the definition: indexes sorted by compareValues, ties by index.
import { describe, expect, it } from 'vitest';
import { compareValues } from '../values/compare.ts';
import { BigDec, kw } from '../values/values.ts';
import { seededRandom } from './random.ts';
import { integerOrder, stableOrder } from './stable-order.ts';

function reference(keys: readonly unknown[]): number[] {
  return keys.map((_, i) => i).sort((i, j) => compareValues(keys[i], keys[j]) || i - j);
}

const random = seededRandom(11);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
const generators: Record<string, () => unknown> = {
  'small integers': () => Math.floor(random() * 50) - 25,
  'integers across 2^52': () => pick([1, -1]) * Math.floor(random() * 2 ** 52),
  'doubles with NaN and -0': () => pick([0.5, -0, 0, NaN, Infinity, -Infinity, random() * 100 - 50]),
  'few strings': () => pick(['b', 'a', 'ab', '', 'B', 'é']),
  'many strings': () => random().toString(36).slice(2, 2 + Math.floor(random() * 6)),
  'instants': () => new Date(Math.floor(random() * 1000) * 1000),
  'instants, few distinct': () => new Date(Math.floor(random() * 10) * 60_000),
  'few keywords': () => pick([kw('male'), kw('female'), kw('a/b'), kw('b')]),
  'many keywords': () => kw(`k/${Math.floor(random() * 10_000)}`),
  'mixed types': () => pick([1, 'x', kw('x'), new Date(5), 2n, BigDec.parse('1.50')!, true, 1.5]),
};

describe('stableOrder', () => {
  for (const [name, generate] of Object.entries(generators)) {
    it(`orders ${name} stably by compareValues`, () => {
      for (const n of [0, 1, 2, 3, 17, 200, 3000]) {
        const keys = Array.from({ length: n }, generate);
        expect([...stableOrder(keys)]).toEqual(reference(keys));
      }
    });
  }

  it('orders integers made of a few ascending runs (merged, not radix-sorted) stably', () => {
    for (const runs of [1, 2, 3, 5, 15, 16, 17, 40]) {
      for (const n of [runs, 100, 3000]) {
        const keys: number[] = [];
        for (let r = 0; r < runs; r++) {
          let k = Math.floor(random() * 100) - 50;
          const length = r === runs - 1 ? n - keys.length : Math.floor(n / runs);
          for (let i = 0; i < length; i++) keys.push((k += Math.floor(random() * 3)));
        }
        expect([...integerOrder(keys)!]).toEqual(reference(keys));
      }
    }
  });

  it('integerOrder refuses what it cannot radix-sort', () => {
    expect(integerOrder([1, 1.5])).toBeNull();
    expect(integerOrder([-(2 ** 52), 2 ** 52])).toBeNull();
    expect([...integerOrder([3, -1, 3, 2])!]).toEqual([1, 3, 0, 2]);
  });
});
