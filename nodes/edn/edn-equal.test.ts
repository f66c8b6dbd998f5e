import { describe, expect, it } from 'vitest';
import { BigDec, Tagged, Uri, Uuid, kw, list, sym } from '../values/values.ts';
import { ednEqual } from './edn-equal.ts';

const uuid = Uuid.parse('f81d4fae-7dec-11d0-a765-00a0c91e6bf6');

describe('ednEqual', () => {
  it.each<[string, unknown, unknown]>([
    ['numbers', 1.5, 1.5],
    ['NaN', NaN, NaN],
    ['bigints', 10n ** 20n, 10n ** 20n],
    ['BigDec of equal scale', new BigDec(15n, 1), new BigDec(15n, 1)],
    ['dates', new Date(5), new Date(5)],
    ['uuids', uuid, Uuid.parse(uuid!.text)],
    ['uris', new Uri('a:b'), new Uri('a:b')],
    ['bytes', new Uint8Array([1, 2]), new Uint8Array([1, 2])],
    ['vectors', [1, [kw('a')]], [1, [kw('a')]]],
    ['lists', list(sym('f'), 1), list(sym('f'), 1)],
    ['maps in another order', new Map<unknown, unknown>([[1, 'a'], [[2], 'b']]), new Map<unknown, unknown>([[[2], 'b'], [1, 'a']])],
    ['sets with composite elements', new Set([[1], [2]]), new Set([[2], [1]])],
    ['tagged', new Tagged('t', [1]), new Tagged('t', [1])],
    ['plain objects', { a: 1, b: [2] }, { b: [2], a: 1 }],
    ['a plain object and a null-prototype one', { a: 1 }, Object.assign(Object.create(null) as object, { a: 1 })],
  ])('holds for equal %s', (_, a, b) => {
    expect(ednEqual(a, b)).toBe(true);
    expect(ednEqual(b, a)).toBe(true);
  });

  it.each<[string, unknown, unknown]>([
    ['0 and -0', 0, -0],
    ['1 and 1N', 1, 1n],
    ['1.5M and 1.50M', new BigDec(15n, 1), new BigDec(150n, 2)],
    ['a keyword and a symbol of one name', kw('a'), sym('a')],
    ['a keyword and a string', kw('a'), ':a'],
    ['a vector and a list', [1], list(1)],
    ['vectors of other lengths', [1], [1, 2]],
    ['maps with other values', new Map([[1, 'a']]), new Map([[1, 'b']])],
    ['maps with other keys', new Map([[[1], 'a']]), new Map([[[2], 'a']])],
    ['sets', new Set([1]), new Set([2])],
    ['tags', new Tagged('a', 1), new Tagged('b', 1)],
    ['bytes', new Uint8Array([1]), new Uint8Array([2])],
    ['a date and a number', new Date(1), 1],
    ['a map and a plain object', new Map([['a', 1]]), { a: 1 }],
    ['plain objects', { a: 1 }, { a: 1, b: 2 }],
    ['null and undefined', null, undefined],
  ])('fails for %s', (_, a, b) => {
    expect(ednEqual(a, b)).toBe(false);
    expect(ednEqual(b, a)).toBe(false);
  });
});
