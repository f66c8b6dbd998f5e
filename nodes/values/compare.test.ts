import { describe, expect, it } from 'vitest';
import { BigDec, Uuid, kw, sym } from './values.ts';
import { compareValues, valueKey, valuesEqual } from './compare.ts';

const sameKey = (a: unknown, b: unknown) => Object.is(valueKey(a), valueKey(b)) || valueKey(a) === valueKey(b);

describe('value keys', () => {
  it('equal values share a key', () => {
    for (const [a, b] of [[1, 1n], [BigDec.parse('1.5')!, BigDec.parse('1.50')!], [new Date(5), new Date(5)], [[1, 'a'], [1n, 'a']], [kw('a/b'), kw(':a/b')]] as const) {
      expect(valuesEqual(a, b)).toBe(true);
      expect(sameKey(a, b)).toBe(true);
    }
  });

  // Regression: keys were plain strings for several types, so values of different types collided
  // in hash joins and sets (a tuple holding nil and one holding "null"; a string and a date).
  it('values of different types never share a key', () => {
    const values: unknown[] = [
      null, 'null', [null, 1], ['null', 1], 'd5', new Date(5), '\u0000d5', ':a/b', kw('a/b'), sym('a/b'), [kw('a/b')], [':a/b'],
      [sym('a/b')], ['a/b'], 1, '1', [1], ['1'], true, 'true', [true], ['true'], 'u6f8a4e3c-8a4b-4c3b-9d3e-1f2a3b4c5d6e',
      Uuid.parse('6f8a4e3c-8a4b-4c3b-9d3e-1f2a3b4c5d6e'), 2n ** 70n, 'n1180591620717411303424', '\u0000', '',
    ];
    for (let i = 0; i < values.length; i++) {
      for (let j = 0; j < values.length; j++) {
        if (i === j) continue;
        expect(sameKey(values[i], values[j]), `${String(values[i])} vs ${String(values[j])}`).toBe(compareValues(values[i], values[j]) === 0);
      }
    }
  });
});

describe('total order', () => {
  it('orders across types by rank and within types by value', () => {
    const sorted = [null, false, true, -1, 0n, 1.5, 2n ** 70n, BigDec.parse('0.1')!, '', 'a', kw('a'), kw('a/b'), kw('b/a'), sym('x'), new Date(0), [1, 2], [1, 3]];
    const shuffled = [...sorted].reverse();
    expect(shuffled.sort(compareValues)).toEqual(sorted);
  });
});
